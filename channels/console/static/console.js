// The Today page's live figures: the server sends the figures' HTML (rendered and escaped on
// the server, same origin) over Server-Sent Events; this swaps it in. Nothing else runs here.
"use strict";
(function () {
  const figures = document.getElementById("figures");
  if (!figures || !window.EventSource) return;
  const stream = new EventSource(figures.dataset.stream);
  stream.addEventListener("figures", (event) => {
    figures.innerHTML = event.data;
    figures.dataset.updates = String(Number(figures.dataset.updates || "0") + 1);
  });
  stream.addEventListener("signed-out", () => {
    stream.close();
    window.location.assign("/console/login");
  });
})();
