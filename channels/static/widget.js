/*
 * Onion RSV 360 — the website chat widget.
 *
 * Embed with:
 *   <script src="https://bot.example.com/widget.js" defer></script>
 * Optional attributes on that tag:
 *   data-rsv-url="wss://bot.example.com/ws"  WebSocket endpoint (default: /ws on the script's host)
 *   data-rsv-open="true"                      start with the panel open
 *   data-rsv-title="Pousada do Mar"           header title (default: a generic one per language)
 *   data-rsv-welcome="pousada-do-mar"         greet a new conversation on open with that
 *                                             property's quick replies ("true": the default one)
 *   data-rsv-locale="en"                      the conversation's language (default: the page's
 *                                             <html lang>, else the browser's)
 *
 * Protocol (JSON text frames, see channels/web.py):
 *   -> {"type":"hello","token"?,"locale","welcome"?}
 *                                              <- {"type":"session","token","conversation_id"}
 *                                                 then, for a new conversation with "welcome",
 *                                                 the greeting's {"type":"message",...}
 *   -> {"type":"message","text","id"}          <- {"type":"typing"}, then 0..n
 *   -> {"type":"button","payload","id"}           {"type":"message","text"(HTML),"buttons","image"?}
 *                                                 or {"type":"typing","active":false} when none
 *                                              <- {"type":"error","code","message"}
 * The server answers every message/button frame with exactly one "typing" or "error" frame first;
 * the widget uses that as the acknowledgement of its oldest unacknowledged frame. Frames not yet
 * acknowledged are kept (also across reloads) and sent again, with the same id, after the next
 * session frame: the server drops a resend it has already handled.
 *
 * Bot text is HTML the server has already escaped; everything the guest typed is only ever
 * inserted as text. No dependencies, no build step.
 */
(() => {
  "use strict";

  if (window.__rsv360Widget) return;
  window.__rsv360Widget = true;

  const script = document.currentScript;
  const options = (script && script.dataset) || {};

  const TOKEN_KEY = "rsv360.token"; // localStorage: resumes the conversation
  const TRANSCRIPT_KEY = "rsv360.transcript"; // sessionStorage: what the panel showed
  const OUTBOX_KEY = "rsv360.outbox"; // sessionStorage: frames not yet acknowledged
  const OPEN_KEY = "rsv360.open"; // sessionStorage: panel open or closed
  const MAX_TRANSCRIPT = 200;
  const MAX_TEXT_CHARS = 4000;
  const TYPING_TIMEOUT_MS = 15000;
  const BACKOFF_MIN_MS = 500;
  const BACKOFF_MAX_MS = 30000;
  const ROOT_ID = "rsv360-widget";

  // The widget's own chrome: the only wording that lives in this file.
  const STRINGS = {
    pt: {
      title: "Assistente virtual",
      placeholder: "Escreva sua mensagem…",
      send: "Enviar",
      open: "Abrir o chat",
      close: "Fechar o chat",
      typing: "Digitando…",
      online: "Online",
      connecting: "Conectando…",
    },
    en: {
      title: "Virtual assistant",
      placeholder: "Type your message…",
      send: "Send",
      open: "Open chat",
      close: "Close chat",
      typing: "Typing…",
      online: "Online",
      connecting: "Connecting…",
    },
    es: {
      title: "Asistente virtual",
      placeholder: "Escribe tu mensaje…",
      send: "Enviar",
      open: "Abrir el chat",
      close: "Cerrar el chat",
      typing: "Escribiendo…",
      online: "En línea",
      connecting: "Conectando…",
    },
  };

  const pageLanguage = document.documentElement.getAttribute("lang");
  const locale = String(
    options.rsvLocale || pageLanguage || navigator.language || "pt-BR",
  ).slice(0, 35);
  const strings = STRINGS[locale.slice(0, 2).toLowerCase()] || STRINGS.pt;

  // ---------------------------------------------------------------- storage

  function storageGet(area, key, fallback) {
    try {
      const raw = window[area].getItem(key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (_) {
      return fallback;
    }
  }

  function storageSet(area, key, value) {
    try {
      if (value === null || value === undefined) window[area].removeItem(key);
      else window[area].setItem(key, JSON.stringify(value));
    } catch (_) {
      /* storage full or disabled: the widget still works, it just forgets */
    }
  }

  function loadToken() {
    try {
      return window.localStorage.getItem(TOKEN_KEY);
    } catch (_) {
      return null;
    }
  }

  function saveToken(token) {
    try {
      if (token) window.localStorage.setItem(TOKEN_KEY, token);
      else window.localStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      /* ignore */
    }
  }

  // ---------------------------------------------------------------- helpers

  function newId() {
    const c = window.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    if (c && typeof c.getRandomValues === "function") {
      const bytes = c.getRandomValues(new Uint8Array(16));
      return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    }
    return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}${Math.random()
      .toString(36)
      .slice(2)}`;
  }

  function safeUrl(value, protocols) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, document.baseURI);
      return protocols.includes(url.protocol) ? url.href : null;
    } catch (_) {
      return null;
    }
  }

  function socketUrl() {
    if (options.rsvUrl) return options.rsvUrl;
    let base = window.location;
    try {
      if (script && script.src) base = new URL(script.src, document.baseURI);
    } catch (_) {
      /* keep the page's own location */
    }
    return `${base.protocol === "https:" ? "wss:" : "ws:"}//${base.host}/ws`;
  }

  function h(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === false || value === null || value === undefined) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function svg(markup) {
    const holder = document.createElement("span");
    holder.className = "rsv-icon";
    holder.setAttribute("aria-hidden", "true");
    holder.innerHTML = markup; // constant markup from this file only
    return holder;
  }

  const ICON_CHAT =
    '<svg viewBox="0 0 24 24" width="26" height="26" fill="none" stroke="currentColor" ' +
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M21 12a8.5 8.5 0 0 ' +
    '1-12.3 7.6L3 21l1.5-5.2A8.5 8.5 0 1 1 21 12z"/></svg>';
  const ICON_CLOSE =
    '<svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" ' +
    'stroke-width="2.2" stroke-linecap="round"><path d="M6 6l12 12M18 6L6 18"/></svg>';
  const ICON_SEND =
    '<svg viewBox="0 0 24 24" width="20" height="20" fill="none" stroke="currentColor" ' +
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round"><path d="M22 2L11 13"/>' +
    '<path d="M22 2l-7 20-4-9-9-4 20-7z"/></svg>';
  const ICON_BOT =
    '<svg viewBox="0 0 24 24" width="22" height="22" fill="none" stroke="currentColor" ' +
    'stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"><path d="M2 16c2.5 0 ' +
    '2.5-2 5-2s2.5 2 5 2 2.5-2 5-2 2.5 2 5 2"/><path d="M2 20c2.5 0 2.5-2 5-2s2.5 2 5 2 2.5-2 ' +
    '5-2 2.5 2 5 2"/><circle cx="12" cy="7" r="3.2"/><path d="M12 1.5v1M5.6 4.1l.8.7M18.4 4.1l-.8.7"/>' +
    "</svg>";
  const ICON_EXTERNAL =
    '<svg viewBox="0 0 24 24" width="13" height="13" fill="none" stroke="currentColor" ' +
    'stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"><path d="M14 4h6v6"/>' +
    '<path d="M20 4l-9 9"/><path d="M18 14v5a1 1 0 0 1-1 1H5a1 1 0 0 1-1-1V7a1 1 0 0 1 1-1h5"/>' +
    "</svg>";

  // ---------------------------------------------------------------- styles

  const CSS = `
#${ROOT_ID} {
  all: initial;
  --rsv-brand: #0f766e;
  --rsv-brand-dark: #115e59;
  --rsv-brand-soft: #f0fdfa;
  --rsv-ink: #0f172a;
  --rsv-muted: #64748b;
  --rsv-line: #e2e8f0;
  --rsv-bot: #f1f5f9;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    "Noto Sans", sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Noto Color Emoji";
  font-size: 14px;
  line-height: 1.45;
  color: var(--rsv-ink);
  -webkit-font-smoothing: antialiased;
}
/* The host page's rules stop here: every element starts from the browser defaults. */
#${ROOT_ID} :where(*:not(svg, svg *)) { all: revert; }
#${ROOT_ID} *, #${ROOT_ID} *::before, #${ROOT_ID} *::after {
  box-sizing: border-box;
  margin: 0;
  font: inherit;
  color: inherit;
  letter-spacing: normal;
  text-transform: none;
}
#${ROOT_ID} [hidden] { display: none !important; }
#${ROOT_ID} .rsv-icon { display: inline-flex; line-height: 0; }
#${ROOT_ID} .rsv-sr {
  position: absolute !important; width: 1px; height: 1px; padding: 0; overflow: hidden;
  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; border: 0;
}
#${ROOT_ID} button { cursor: pointer; -webkit-tap-highlight-color: transparent; }
#${ROOT_ID} button:focus-visible, #${ROOT_ID} a:focus-visible {
  outline: 2px solid var(--rsv-brand); outline-offset: 2px;
}

#${ROOT_ID} .rsv-launcher {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  width: 60px; height: 60px; border: 0; border-radius: 50%; padding: 0;
  display: flex; align-items: center; justify-content: center;
  background: linear-gradient(145deg, #14b8a6, var(--rsv-brand) 60%);
  color: #fff;
  box-shadow: 0 10px 25px rgba(15, 118, 110, .35), 0 2px 6px rgba(15, 23, 42, .18);
  transition: transform .18s ease, box-shadow .18s ease;
}
#${ROOT_ID} .rsv-launcher:hover { transform: translateY(-2px) scale(1.04); }
#${ROOT_ID} .rsv-launcher .rsv-icon-close { display: none; }
#${ROOT_ID}.rsv-is-open .rsv-launcher .rsv-icon-chat { display: none; }
#${ROOT_ID}.rsv-is-open .rsv-launcher .rsv-icon-close { display: inline-flex; }
#${ROOT_ID} .rsv-badge {
  position: absolute; top: -2px; right: -2px; min-width: 20px; height: 20px; padding: 0 6px;
  border-radius: 10px; background: #e11d48; color: #fff; font-size: 11px; font-weight: 700;
  line-height: 20px; text-align: center; box-shadow: 0 0 0 2px #fff;
}

#${ROOT_ID} .rsv-panel {
  position: fixed; right: 20px; bottom: 92px; z-index: 2147483000;
  width: 380px; height: min(640px, calc(100vh - 116px));
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; border-radius: 18px;
  box-shadow: 0 24px 60px rgba(15, 23, 42, .22), 0 2px 8px rgba(15, 23, 42, .08);
  border: 1px solid rgba(15, 23, 42, .06);
  animation: rsv360-pop .22s ease-out;
}
@keyframes rsv360-pop {
  from { opacity: 0; transform: translateY(12px) scale(.98); }
  to { opacity: 1; transform: none; }
}

#${ROOT_ID} .rsv-header {
  display: flex; align-items: center; gap: 12px; padding: 14px 14px 14px 16px;
  background: linear-gradient(135deg, var(--rsv-brand-dark), var(--rsv-brand) 55%, #0d9488);
  color: #fff;
}
#${ROOT_ID} .rsv-avatar {
  flex: none; width: 40px; height: 40px; border-radius: 50%;
  display: flex; align-items: center; justify-content: center;
  background: rgba(255, 255, 255, .16); box-shadow: inset 0 0 0 1px rgba(255, 255, 255, .25);
}
#${ROOT_ID} .rsv-heading { flex: 1; min-width: 0; }
#${ROOT_ID} .rsv-title {
  display: block; font-size: 15.5px; font-weight: 650; line-height: 1.25;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
#${ROOT_ID} .rsv-status {
  display: flex; align-items: center; gap: 6px; margin-top: 2px;
  font-size: 12px; opacity: .88;
}
#${ROOT_ID} .rsv-dot {
  width: 8px; height: 8px; border-radius: 50%; background: #fbbf24;
  box-shadow: 0 0 0 2px rgba(255, 255, 255, .25);
}
#${ROOT_ID}.rsv-is-online .rsv-dot { background: #4ade80; }
#${ROOT_ID} .rsv-close {
  flex: none; width: 36px; height: 36px; border: 0; border-radius: 50%; padding: 0;
  display: flex; align-items: center; justify-content: center;
  background: transparent; color: #fff; opacity: .9;
}
#${ROOT_ID} .rsv-close:hover { background: rgba(255, 255, 255, .15); opacity: 1; }

#${ROOT_ID} .rsv-scroll {
  flex: 1; min-height: 0; overflow-y: auto; overscroll-behavior: contain;
  padding: 18px 14px 8px; background: #fff;
  scrollbar-width: thin; scrollbar-color: #cbd5e1 transparent;
}
#${ROOT_ID} .rsv-messages { display: flex; flex-direction: column; gap: 10px; }
#${ROOT_ID} .rsv-message { display: flex; flex-direction: column; max-width: 100%; }
#${ROOT_ID} .rsv-message[data-author="bot"] { align-items: flex-start; }
#${ROOT_ID} .rsv-message[data-author="guest"] { align-items: flex-end; }
#${ROOT_ID} .rsv-message[data-author="system"] { align-items: center; }
#${ROOT_ID} .rsv-bubble {
  max-width: 84%; padding: 9px 13px; border-radius: 16px;
  font-size: 14.5px; line-height: 1.45; white-space: pre-wrap; overflow-wrap: anywhere;
}
#${ROOT_ID} .rsv-message[data-author="bot"] .rsv-bubble {
  background: var(--rsv-bot); color: var(--rsv-ink); border-bottom-left-radius: 5px;
}
#${ROOT_ID} .rsv-message[data-author="guest"] .rsv-bubble {
  background: var(--rsv-brand); color: #fff; border-bottom-right-radius: 5px;
  transition: opacity .2s ease;
}
#${ROOT_ID} .rsv-message[data-pending] .rsv-bubble { opacity: .6; }
#${ROOT_ID} .rsv-message[data-author="system"] .rsv-bubble {
  max-width: 92%; padding: 5px 12px; border-radius: 999px; background: #fff7ed;
  color: #9a3412; font-size: 12px; text-align: center; white-space: normal;
  border: 1px solid #fed7aa;
}
#${ROOT_ID} .rsv-bubble a { color: inherit; text-decoration: underline; }
#${ROOT_ID} .rsv-bubble b, #${ROOT_ID} .rsv-bubble strong { font-weight: 650; }
#${ROOT_ID} .rsv-bubble em, #${ROOT_ID} .rsv-bubble i { font-style: italic; }
#${ROOT_ID} .rsv-image {
  display: block; max-width: 84%; max-height: 220px; margin-bottom: 6px;
  border-radius: 14px; object-fit: cover; background: var(--rsv-bot);
}
#${ROOT_ID} .rsv-actions {
  display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; max-width: 92%;
}
#${ROOT_ID} .rsv-chip {
  display: inline-flex; align-items: center; gap: 5px;
  padding: 6px 13px; border: 1.5px solid var(--rsv-brand); border-radius: 999px;
  background: #fff; color: var(--rsv-brand); font-size: 13.5px; font-weight: 550;
  line-height: 1.3; text-decoration: none; white-space: nowrap;
  transition: background-color .15s ease, color .15s ease;
}
#${ROOT_ID} .rsv-chip:hover { background: var(--rsv-brand-soft); }
#${ROOT_ID} .rsv-chip:active { background: var(--rsv-brand); color: #fff; }

#${ROOT_ID} .rsv-typing { display: flex; padding: 10px 0 4px; }
#${ROOT_ID} .rsv-typing-bubble {
  display: inline-flex; gap: 4px; padding: 12px 14px; border-radius: 16px;
  border-bottom-left-radius: 5px; background: var(--rsv-bot);
}
#${ROOT_ID} .rsv-typing-bubble i {
  width: 7px; height: 7px; border-radius: 50%; background: #94a3b8;
  animation: rsv360-blink 1.2s infinite ease-in-out;
}
#${ROOT_ID} .rsv-typing-bubble i:nth-child(2) { animation-delay: .15s; }
#${ROOT_ID} .rsv-typing-bubble i:nth-child(3) { animation-delay: .3s; }
@keyframes rsv360-blink {
  0%, 60%, 100% { transform: translateY(0); opacity: .45; }
  30% { transform: translateY(-4px); opacity: 1; }
}

#${ROOT_ID} .rsv-composer {
  display: flex; align-items: flex-end; gap: 8px; padding: 10px 12px 12px;
  border-top: 1px solid var(--rsv-line); background: #fff;
}
#${ROOT_ID} .rsv-input {
  flex: 1; min-width: 0; height: 42px; max-height: 124px; resize: none; overflow-y: auto;
  padding: 10px 15px; border: 1px solid #cbd5e1; border-radius: 21px; background: #f8fafc;
  font-size: 14.5px; line-height: 1.4; color: var(--rsv-ink); outline: none;
  transition: border-color .15s ease, box-shadow .15s ease, background-color .15s ease;
}
#${ROOT_ID} .rsv-input::placeholder { color: #94a3b8; opacity: 1; }
#${ROOT_ID} .rsv-input:focus {
  border-color: var(--rsv-brand); background: #fff;
  box-shadow: 0 0 0 3px rgba(15, 118, 110, .15);
}
#${ROOT_ID} .rsv-send {
  flex: none; width: 42px; height: 42px; border: 0; border-radius: 50%; padding: 0;
  display: flex; align-items: center; justify-content: center;
  background: var(--rsv-brand); color: #fff; transition: background-color .15s ease, opacity .15s;
}
#${ROOT_ID} .rsv-send:hover { background: var(--rsv-brand-dark); }
#${ROOT_ID} .rsv-send:disabled { opacity: .4; cursor: default; background: var(--rsv-brand); }
#${ROOT_ID} .rsv-send .rsv-icon { transform: translateX(-1px); }

@media (max-width: 480px) {
  #${ROOT_ID} .rsv-panel {
    inset: 0; right: 0; bottom: 0; width: 100%; height: 100%; max-height: none;
    border-radius: 0; border: 0;
  }
  #${ROOT_ID}.rsv-is-open .rsv-launcher { display: none; }
  #${ROOT_ID} .rsv-bubble { max-width: 88%; }
}
@media (prefers-reduced-motion: reduce) {
  #${ROOT_ID} *, #${ROOT_ID} *::before, #${ROOT_ID} *::after {
    animation: none !important; transition: none !important;
  }
}
`;

  // ---------------------------------------------------------------- DOM

  const root = h("div", { id: ROOT_ID, class: "rsv360" });
  const badge = h("span", { class: "rsv-badge", hidden: true, "aria-hidden": "true" });
  const launcher = h(
    "button",
    {
      type: "button",
      class: "rsv-launcher",
      "data-testid": "rsv-launcher",
      "aria-controls": `${ROOT_ID}-panel`,
      "aria-expanded": "false",
      "aria-label": strings.open,
    },
    [],
  );
  const chatIcon = svg(ICON_CHAT);
  chatIcon.classList.add("rsv-icon-chat");
  const closeIcon = svg(ICON_CLOSE);
  closeIcon.classList.add("rsv-icon-close");
  launcher.append(chatIcon, closeIcon, badge);

  const title = options.rsvTitle || strings.title;
  const statusText = h("span", { text: strings.connecting });
  const closeButton = h("button", {
    type: "button",
    class: "rsv-close",
    "aria-label": strings.close,
  });
  closeButton.append(svg(ICON_CLOSE));
  const avatar = h("div", { class: "rsv-avatar", "aria-hidden": "true" });
  avatar.append(svg(ICON_BOT));
  const header = h("header", { class: "rsv-header" }, [
    avatar,
    h("div", { class: "rsv-heading" }, [
      h("h2", { class: "rsv-title", id: `${ROOT_ID}-title`, text: title }),
      h("div", { class: "rsv-status" }, [
        h("span", { class: "rsv-dot", "aria-hidden": "true" }),
        statusText,
      ]),
    ]),
    closeButton,
  ]);

  const list = h("div", {
    class: "rsv-messages",
    role: "log",
    "aria-live": "polite",
    "aria-relevant": "additions",
    "aria-labelledby": `${ROOT_ID}-title`,
    "data-testid": "rsv-messages",
  });
  const typing = h(
    "div",
    {
      class: "rsv-typing",
      role: "status",
      "aria-label": strings.typing,
      "data-testid": "rsv-typing",
      hidden: true,
    },
    [
      h("span", { class: "rsv-typing-bubble", "aria-hidden": "true" }, [
        h("i"),
        h("i"),
        h("i"),
      ]),
    ],
  );
  const scroller = h("div", { class: "rsv-scroll" }, [list, typing]);

  const input = h("textarea", {
    id: `${ROOT_ID}-input`,
    class: "rsv-input",
    rows: "1",
    maxlength: String(MAX_TEXT_CHARS),
    placeholder: strings.placeholder,
    autocomplete: "off",
    enterkeyhint: "send",
    "data-testid": "rsv-input",
  });
  const sendButton = h("button", {
    type: "submit",
    class: "rsv-send",
    "aria-label": strings.send,
    title: strings.send,
    "data-testid": "rsv-send",
    disabled: true,
  });
  sendButton.append(svg(ICON_SEND));
  const composer = h("form", { class: "rsv-composer", novalidate: true }, [
    h("label", { class: "rsv-sr", for: `${ROOT_ID}-input`, text: strings.placeholder }),
    input,
    sendButton,
  ]);

  const panel = h(
    "section",
    {
      id: `${ROOT_ID}-panel`,
      class: "rsv-panel",
      role: "region",
      "aria-labelledby": `${ROOT_ID}-title`,
      "data-testid": "rsv-panel",
      hidden: true,
    },
    [header, scroller, composer],
  );

  root.append(panel, launcher);

  // ---------------------------------------------------------------- transcript

  let transcript = storageGet("sessionStorage", TRANSCRIPT_KEY, []);
  if (!Array.isArray(transcript)) transcript = [];
  let unread = 0;

  function saveTranscript() {
    if (transcript.length > MAX_TRANSCRIPT) transcript = transcript.slice(-MAX_TRANSCRIPT);
    storageSet("sessionStorage", TRANSCRIPT_KEY, transcript);
  }

  function cleanButtons(buttons) {
    if (!Array.isArray(buttons)) return [];
    const clean = [];
    for (const button of buttons) {
      if (!button || typeof button.title !== "string" || !button.title) continue;
      if (typeof button.url === "string") {
        const url = safeUrl(button.url, ["https:", "http:", "mailto:", "tel:"]);
        if (url) clean.push({ title: button.title, url });
      } else if (typeof button.payload === "string" && button.payload) {
        clean.push({ title: button.title, payload: button.payload });
      }
    }
    return clean;
  }

  function cleanImage(image) {
    if (!image || typeof image !== "object") return null;
    const url = safeUrl(image.url, ["https:", "http:"]);
    return url ? { url, alt: typeof image.alt === "string" ? image.alt : "" } : null;
  }

  function renderEntry(entry) {
    const node = h("div", {
      class: "rsv-message",
      "data-testid": "rsv-message",
      "data-author": entry.author,
      "data-id": entry.id,
      "data-pending": entry.pending ? true : null,
    });
    if (entry.image) {
      const image = h("img", {
        class: "rsv-image",
        src: entry.image.url,
        alt: entry.image.alt,
        loading: "lazy",
        decoding: "async",
      });
      image.addEventListener("load", () => scrollToEnd(), { once: true });
      node.append(image);
    }
    if (entry.author === "bot" ? entry.html : entry.text) {
      const bubble = h("div", { class: "rsv-bubble" });
      if (entry.author === "bot") bubble.innerHTML = entry.html; // escaped by the server
      else bubble.textContent = entry.text; // the guest's own words: never markup
      node.append(bubble);
    }
    const buttons = entry.buttons || [];
    if (buttons.length) {
      const actions = h("div", { class: "rsv-actions" });
      for (const button of buttons) {
        if (button.url) {
          const link = h("a", {
            class: "rsv-chip rsv-link",
            href: button.url,
            target: "_blank",
            rel: "noopener",
            "data-testid": "rsv-link",
            text: button.title,
          });
          link.append(svg(ICON_EXTERNAL));
          actions.append(link);
        } else {
          const quick = h("button", {
            type: "button",
            class: "rsv-chip rsv-quick",
            "data-testid": "rsv-button",
            text: button.title,
          });
          quick.addEventListener("click", () => {
            sendGuest({ type: "button", payload: button.payload }, button.title);
          });
          actions.append(quick);
        }
      }
      node.append(actions);
    }
    return node;
  }

  function scrollToEnd() {
    scroller.scrollTop = scroller.scrollHeight;
  }

  function addEntry(entry) {
    transcript.push(entry);
    saveTranscript();
    list.append(renderEntry(entry));
    scrollToEnd();
  }

  // Quick replies belong to the latest bot message only: once the guest answers, they go.
  function spendQuickReplies() {
    let changed = false;
    for (const entry of transcript) {
      if (entry.buttons && entry.buttons.some((button) => !button.url)) {
        entry.buttons = entry.buttons.filter((button) => button.url);
        changed = true;
      }
    }
    for (const quick of list.querySelectorAll(".rsv-quick")) {
      const actions = quick.parentElement;
      quick.remove();
      if (actions && !actions.children.length) actions.remove();
    }
    if (changed) saveTranscript();
  }

  function settle(id) {
    const entry = transcript.find((item) => item.id === id);
    if (entry && entry.pending) {
      delete entry.pending;
      saveTranscript();
    }
    for (const node of list.querySelectorAll(".rsv-message[data-pending]")) {
      if (node.getAttribute("data-id") === id) node.removeAttribute("data-pending");
    }
  }

  // ---------------------------------------------------------------- typing

  let typingTimer = null;

  function showTyping() {
    typing.hidden = false;
    scrollToEnd();
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typingTimer = null;
    typing.hidden = true;
  }

  // ---------------------------------------------------------------- connection

  // Frames the server has not acknowledged yet, oldest first, as {frame, sends}; the first
  // `inflight` of them were sent on the current socket.
  let outbox = storageGet("sessionStorage", OUTBOX_KEY, []);
  if (!Array.isArray(outbox)) outbox = [];
  outbox = outbox.filter((item) => item && item.frame && typeof item.frame.id === "string");
  let inflight = 0;
  let socket = null;
  let ready = false;
  let attempt = 0;
  let reconnectTimer = null;

  function saveOutbox() {
    storageSet("sessionStorage", OUTBOX_KEY, outbox.length ? outbox : null);
  }

  function setOnline(online) {
    root.classList.toggle("rsv-is-online", online);
    statusText.textContent = online ? strings.online : strings.connecting;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (socket) return;
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (_) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", () => {
      if (ws !== socket) return;
      const hello = { type: "hello", locale };
      const token = loadToken();
      if (token) hello.token = token;
      if (options.rsvWelcome) hello.welcome = options.rsvWelcome === "true" || options.rsvWelcome;
      ws.send(JSON.stringify(hello));
    });
    ws.addEventListener("message", (event) => {
      if (ws !== socket) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (frame && typeof frame === "object") onFrame(frame);
    });
    ws.addEventListener("close", () => {
      if (ws !== socket) return;
      socket = null;
      ready = false;
      inflight = 0;
      hideTyping();
      setOnline(false);
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    attempt += 1;
    const delay = ceiling / 2 + (Math.random() * ceiling) / 2;
    reconnectTimer = setTimeout(connect, delay);
  }

  function transmit(item) {
    socket.send(JSON.stringify(item.frame));
    item.sends = (item.sends || 0) + 1;
    inflight += 1;
    saveOutbox();
  }

  function flush() {
    while (ready && socket && inflight < outbox.length) transmit(outbox[inflight]);
  }

  // The oldest frame on this socket was accepted ("typing") or refused ("error").
  function acknowledge() {
    if (!ready || inflight === 0) return null;
    const item = outbox.shift();
    inflight -= 1;
    saveOutbox();
    settle(item.frame.id);
    return item;
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "session":
        if (typeof frame.token === "string" && frame.token) saveToken(frame.token);
        ready = true;
        attempt = 0;
        inflight = 0;
        setOnline(true);
        flush();
        break;
      case "typing": {
        if (frame.active === false) {
          hideTyping(); // the turn ended without a reply (a resend, a rate-limited flood)
          break;
        }
        const item = acknowledge();
        // A resend the server already handled gets "typing" but no reply: don't wait for one.
        if (!item || item.sends === 1) showTyping();
        break;
      }
      case "message":
        hideTyping();
        addEntry({
          author: "bot",
          html: typeof frame.text === "string" ? frame.text : "",
          buttons: cleanButtons(frame.buttons),
          image: cleanImage(frame.image),
        });
        if (panel.hidden) {
          unread += 1;
          badge.textContent = String(unread);
          badge.hidden = false;
        }
        break;
      case "error":
        hideTyping();
        if (frame.code === "invalid_token") saveToken(null);
        else acknowledge();
        if (typeof frame.message === "string" && frame.message) {
          addEntry({ author: "system", text: frame.message });
        }
        break;
      default:
        break;
    }
  }

  function sendGuest(frame, shown) {
    frame.id = newId();
    spendQuickReplies();
    addEntry({ author: "guest", text: shown, id: frame.id, pending: true });
    outbox.push({ frame, sends: 0 });
    saveOutbox();
    if (ready && socket) flush();
    else connect();
  }

  // ---------------------------------------------------------------- interaction

  function resizeInput() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 124)}px`;
    sendButton.disabled = !input.value.trim();
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    resizeInput();
    sendGuest({ type: "message", text }, text);
    input.focus();
  }

  function setOpen(open, focus) {
    panel.hidden = !open;
    root.classList.toggle("rsv-is-open", open);
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? strings.close : strings.open);
    storageSet("sessionStorage", OPEN_KEY, open);
    if (open) {
      unread = 0;
      badge.hidden = true;
      connect();
      scrollToEnd();
      if (focus) input.focus();
    } else if (focus) {
      launcher.focus();
    }
  }

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  input.addEventListener("input", resizeInput);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submit();
    }
  });
  launcher.addEventListener("click", () => setOpen(panel.hidden, true));
  closeButton.addEventListener("click", () => setOpen(false, true));
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") setOpen(false, true);
  });
  window.addEventListener("online", () => {
    if (reconnectTimer) connect();
  });

  // ---------------------------------------------------------------- start

  function start() {
    const style = document.createElement("style");
    style.id = `${ROOT_ID}-style`;
    style.textContent = CSS;
    document.head.append(style);
    for (const entry of transcript) list.append(renderEntry(entry));
    document.body.append(root);
    setOnline(false);
    const saved = storageGet("sessionStorage", OPEN_KEY, null);
    const open = typeof saved === "boolean" ? saved : options.rsvOpen === "true";
    setOpen(open, false);
    if (!open && outbox.length) connect();
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start, { once: true });
})();
