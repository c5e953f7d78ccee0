// The console's live parts (Today's figures, the conversations, a transcript): the server sends
// each part's HTML (rendered and escaped on the server, same origin) over Server-Sent Events;
// this swaps it in. Nothing else runs here.
"use strict";
(function () {
  if (!window.EventSource) return;
  document.querySelectorAll("[data-stream]").forEach((part) => {
    const stream = new EventSource(part.dataset.stream);
    stream.addEventListener(part.dataset.event || "figures", (event) => {
      part.innerHTML = event.data;
      part.dataset.updates = String(Number(part.dataset.updates || "0") + 1);
    });
    stream.addEventListener("signed-out", () => {
      stream.close();
      window.location.assign("/console/login");
    });
  });
})();
