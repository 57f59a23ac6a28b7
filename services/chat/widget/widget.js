// Switchboard chat widget: one script, no build step. Talks to the connector it was loaded from.
(function () {
  "use strict";
  const origin = new URL(document.currentScript.src).origin;
  const storageKey = "switchboard-chat-token";
  let token = localStorage.getItem(storageKey);
  let lastId = 0;
  let socket = null;
  let retryDelay = 500;
  let sendDelay = 500;

  const box = document.createElement("div");
  box.id = "sb-chat";
  box.innerHTML =
    '<div id="sb-head">Chat with us <button id="sb-close" title="End the chat">×</button></div>' +
    '<div id="sb-messages" aria-live="polite"></div>' +
    '<div id="sb-status" role="status"></div>' +
    '<form id="sb-form"><input id="sb-input" autocomplete="off" maxlength="4000" ' +
    'placeholder="Type your message"><button id="sb-send" type="submit">Send</button></form>';
  const style = document.createElement("style");
  style.textContent =
    "#sb-chat{position:fixed;right:1rem;bottom:1rem;width:20rem;font:14px system-ui,sans-serif;" +
    "border:1px solid #ccc;border-radius:8px;background:#fff;box-shadow:0 2px 12px #0002}" +
    "#sb-head{background:#234;color:#fff;padding:.5rem;border-radius:8px 8px 0 0}" +
    "#sb-close{float:right;background:none;border:0;color:#fff;cursor:pointer}" +
    "#sb-messages{height:16rem;overflow-y:auto;padding:.5rem}" +
    ".sb-msg{margin:.25rem 0;padding:.35rem .5rem;border-radius:6px;max-width:85%}" +
    ".sb-visitor{background:#def;margin-left:auto}.sb-agent{background:#eee}" +
    "#sb-status{color:#a40;padding:0 .5rem;min-height:1em}" +
    "#sb-form{display:flex;border-top:1px solid #ddd}#sb-input{flex:1;border:0;padding:.5rem}";
  document.head.appendChild(style);
  document.body.appendChild(box);
  const list = box.querySelector("#sb-messages");
  const status = box.querySelector("#sb-status");
  const input = box.querySelector("#sb-input");

  // The stream delivers a session's messages in order; an answer to a send may show one
  // earlier. Each message is shown once, in id order, and only the stream moves lastId.
  function show(message, fromStream) {
    if (fromStream) lastId = Math.max(lastId, message.id);
    if (list.querySelector('[data-id="' + message.id + '"]')) return;
    const item = document.createElement("div");
    item.className = "sb-msg sb-" + message.author;
    item.dataset.id = message.id;
    item.textContent = message.text;
    const later = Array.from(list.children).find((shown) => Number(shown.dataset.id) > message.id);
    list.insertBefore(item, later || null);
    list.scrollTop = list.scrollHeight;
  }

  async function call(method, path, body) {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const response = await fetch(origin + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 404 && token) {  // the session is gone: start a new one
      token = null;
      localStorage.removeItem(storageKey);
    }
    return response;
  }

  // Opens a session when there is none; answers the failed response, or null when all is well.
  async function ensureSession() {
    if (token) return null;
    const response = await call("POST", "/chat/sessions", { page_url: location.href });
    if (!response.ok) return response;
    token = (await response.json()).token;
    localStorage.setItem(storageKey, token);
    connect();
    return null;
  }

  function connect() {
    if (!token) return;
    const url = origin.replace(/^http/, "ws") + "/chat/stream?token=" +
      encodeURIComponent(token) + "&after=" + lastId;
    socket = new WebSocket(url);
    socket.onopen = () => {
      if (status.textContent === "Reconnecting…") status.textContent = "";
      retryDelay = 500;
    };
    socket.onmessage = (event) => show(JSON.parse(event.data), true);
    socket.onclose = (event) => {
      if (event.code === 4404) { token = null; localStorage.removeItem(storageKey); return; }
      status.textContent = "Reconnecting…";
      // 4429: too many streams open (other tabs); waiting longer leaves them room.
      if (event.code === 4429) retryDelay = Math.max(retryDelay, 5000);
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }

  async function send(text, clientMessageId) {
    let response;
    try {
      response = (await ensureSession()) ||
        (await call("POST", "/chat/messages", {
          text, client_message_id: clientMessageId,
          // The browser's language: the message's when its text is too short to tell.
          language: navigator.language || undefined,
        }));
    } catch (error) {
      response = null;
    }
    if (response === null || response.status >= 500) {
      // Same client message id on every try: the connector publishes it once.
      const code = response === null ? "no connection" : String(response.status);
      status.textContent = "Not sent yet (" + code + "), retrying…";
      setTimeout(() => send(text, clientMessageId), sendDelay);
      sendDelay = Math.min(sendDelay * 2, 10000);
      return;
    }
    if (response.status === 429) {
      // Over the connector's flood limit: wait as long as it says, then the same message again.
      const seconds = Number(response.headers.get("Retry-After")) || 5;
      status.textContent = "Sending too fast, retrying in " + seconds + " s…";
      setTimeout(() => send(text, clientMessageId), seconds * 1000);
      return;
    }
    sendDelay = 500;
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      status.textContent = problem.message || "Your message was not sent.";
      return;
    }
    status.textContent = "";
    const answer = await response.json();
    if (answer.message) show(answer.message, false);
  }

  box.querySelector("#sb-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text, crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random());
  });

  box.querySelector("#sb-close").addEventListener("click", async () => {
    if (token) await call("POST", "/chat/close");
    if (socket) { socket.onclose = null; socket.close(); }
    token = null;
    localStorage.removeItem(storageKey);
    status.textContent = "Chat ended.";
  });

  connect();
})();
