// The console's frame: the API client, small DOM helpers, sign-in and sign-out, and which
// view to show. Customer text only ever goes into the page as text (textContent), never HTML.
"use strict";

const Console = (() => {
  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  async function api(method, path, body) {
    const init = { method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, { message: "the server cannot be reached" });
    }
    const text = await response.text();
    let parsed = null;
    if (text) {
      try { parsed = JSON.parse(text); } catch (err) { parsed = { message: text }; }
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  // el("li", {class: "x", data: {id: 1}}, "text", child): text children become text nodes.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "data") for (const [k, v] of Object.entries(value)) node.dataset[k] = v;
      else if (key === "on") for (const [k, v] of Object.entries(value)) node.addEventListener(k, v);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const $ = (id) => document.getElementById(id);

  // A random UUID (version 4) also outside secure contexts, where crypto.randomUUID is missing.
  function uuid4() {
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // The server's clock minus ours, so countdowns agree with the server's deadlines.
  let skewMs = 0;
  function syncClock(serverTime) {
    if (serverTime) skewMs = Date.parse(serverTime) - Date.now();
  }
  const now = () => Date.now() + skewMs;

  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return `${s}s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  }

  const CHANNEL_LABELS = { chat: "Chat", email: "Mail", phone: "Call", social: "Social" };
  function channelIcon(channel) {
    return el("span", { class: `channel channel-${channel}`, title: channel }, CHANNEL_LABELS[channel] || channel);
  }

  function banner(text) {
    const node = $("banner");
    node.textContent = text || "";
    node.hidden = !text;
  }

  function show(view) {
    for (const id of ["signin-view", "agent-view", "supervisor-view"]) $(id).hidden = id !== view;
    $("tab-agent").setAttribute("aria-pressed", String(view === "agent-view"));
    $("tab-supervisor").setAttribute("aria-pressed", String(view === "supervisor-view"));
    document.dispatchEvent(new CustomEvent("console:view", { detail: view }));
  }

  function signedOut(message) {
    $("signout").hidden = true;
    $("status-box").hidden = true;
    $("tabs").hidden = true;
    $("me").textContent = "";
    if (message) $("signin-message").textContent = message;
    show("signin-view");
  }

  // A sign-in link carries its token in the fragment (never sent to a server): exchange it
  // once, then take it out of the address bar and the history.
  async function exchangeSignin() {
    const match = /(?:^#|&)signin=([^&]+)/.exec(location.hash);
    if (!match) return null;
    history.replaceState(null, "", location.pathname + location.search);
    try {
      await api("POST", "/console/session", { token: decodeURIComponent(match[1]) });
      return null;
    } catch (err) {
      return err.status === 401
        ? "This sign-in link was already used or has expired. Ask for a new one."
        : `Signing in failed: ${err.message}`;
    }
  }

  async function signOut() {
    try { await api("DELETE", "/console/session"); } catch (err) { /* signed out anyway */ }
    window.dispatchEvent(new Event("console:signout"));
    signedOut("You are signed out.");
  }

  async function canSupervise() {
    try { await api("GET", "/supervisor/view"); return true; } catch (err) { return false; }
  }

  async function start() {
    const failure = await exchangeSignin();
    if (failure) return signedOut(failure);
    let workspace = null;
    try {
      workspace = await api("GET", "/agent/workspace");
    } catch (err) {
      if (err.status !== 401) return signedOut(`The console cannot start: ${err.message}`);
    }
    // A supervisor (or whoever holds an admin token, say through a proxy) gets the view.
    const supervisor = workspace ? workspace.me.role === "supervisor" : await canSupervise();
    if (!workspace && !supervisor) return signedOut(null);
    $("signout").hidden = false;
    $("tabs").hidden = !(workspace && supervisor);
    if (workspace) {
      Agent.start(workspace);
      show("agent-view");
    }
    if (supervisor) {
      Supervisor.start();
      if (!workspace) show("supervisor-view");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("signout").addEventListener("click", signOut);
    $("tab-agent").addEventListener("click", () => show("agent-view"));
    $("tab-supervisor").addEventListener("click", () => show("supervisor-view"));
    start();
  });

  return { api, el, $, uuid4, now, syncClock, duration, channelIcon, banner, signedOut, ApiError };
})();
