// The agent view: my status, offers, conversations, a conversation's transcript, replying,
// notes, canned responses, transfer and resolve; live over the agent stream (/agent/stream).
"use strict";

const Agent = (() => {
  const { api, el, $, uuid4, now, syncClock, duration, channelIcon, banner } = Console;
  const TICKS = { pending: "\u2026", sent: "\u2713", delivered: "\u2713\u2713", read: "\u2713\u2713 read", failed: "failed" };
  const AUTOMATED = { bot: "bot", auto_reply: "auto-reply", bounce: "bounce" };

  const state = {
    me: null,
    offers: [],
    conversations: [],
    current: null, // the open conversation's id
    cursor: 0, // the transcript's cursor (the last seq read)
    names: new Map(), // agent id -> name
    canned: [],
    labels: [], // the labels on the list (not retired)
    stream: null,
  };

  // -- workspace -----------------------------------------------------------------

  async function refresh() {
    try {
      render(await api("GET", "/agent/workspace"));
    } catch (err) {
      if (err.status === 401) stop("Your session ended: sign in again.");
    }
  }

  function render(workspace) {
    syncClock(workspace.server_time);
    state.me = workspace.me;
    state.offers = workspace.offers;
    state.conversations = workspace.conversations;
    state.names.set(workspace.me.id, workspace.me.name);
    $("me").textContent = workspace.me.name;
    $("status").value = workspace.me.status;
    renderOffers();
    renderConversations();
    if (state.current && !state.conversations.some((c) => c.id === state.current)) {
      const held = state.offers.some((o) => o.conversation_id === state.current);
      if (!held) closeConversation();
    }
    tick();
  }

  function renderOffers() {
    const list = $("offers");
    list.replaceChildren(...state.offers.map((offer) => el("li", { class: "card offer", data: { id: offer.id } },
      el("div", { class: "card-head" }, channelIcon(offer.channel), el("strong", { class: "customer" }, offer.customer_name),
        el("span", { class: "countdown clock", data: { deadline: offer.expires_at } })),
      el("p", { class: "preview" }, offer.preview || ""),
      offer.note ? el("p", { class: "offer-note" }, "Note: ", offer.note) : null,
      el("div", { class: "actions" },
        el("button", { type: "button", class: "accept primary", on: { click: () => respond(offer, "accept") } }, "Accept"),
        el("button", { type: "button", class: "decline", on: { click: () => respond(offer, "decline") } }, "Decline")))));
    $("no-offers").hidden = state.offers.length > 0;
  }

  function renderConversations() {
    const list = $("conversations");
    list.replaceChildren(...state.conversations.map((c) => el("li", {
      class: `card conversation${c.id === state.current ? " selected" : ""}`, data: { id: c.id }, tabindex: 0,
      on: { click: () => openConversation(c.id), keydown: (e) => { if (e.key === "Enter") openConversation(c.id); } },
    },
      el("div", { class: "card-head" }, channelIcon(c.channel), el("strong", { class: "customer" }, c.customer_name)),
      el("div", { class: "muted" }, waitingClock(c), " \u00b7 ", slaClock(c)))));
    $("no-conversations").hidden = state.conversations.length > 0;
  }

  // How long the customer has waited for an answer since they last wrote.
  function waitingClock(c) {
    if (c.last_reply_at && Date.parse(c.last_reply_at) >= Date.parse(c.last_inbound_at)) return el("span", {}, "answered");
    return el("span", {}, "waiting ", el("span", { class: "clock", data: { since: c.last_inbound_at } }));
  }

  // The SLA clock: time left to answer while waiting, then whether it was met.
  function slaClock(c) {
    if (!c.sla_deadline) return el("span", {}, "no SLA");
    if (c.accepted_at) {
      const met = Date.parse(c.accepted_at) <= Date.parse(c.sla_deadline);
      return el("span", { class: met ? "sla-met" : "sla-missed" }, met ? "SLA met" : "SLA missed");
    }
    return el("span", { class: "clock", data: { deadline: c.sla_deadline } });
  }

  function tick() {
    const t = now();
    for (const node of document.querySelectorAll("#agent-view [data-deadline]")) {
      const left = (Date.parse(node.dataset.deadline) - t) / 1000;
      node.textContent = left > 0 ? duration(left) : "expired";
      node.classList.toggle("urgent", left < 10);
    }
    for (const node of document.querySelectorAll("#agent-view [data-since]")) {
      node.textContent = duration((t - Date.parse(node.dataset.since)) / 1000);
    }
  }

  async function respond(offer, action) {
    try {
      await api("POST", `/agent/offers/${offer.id}/${action}`);
      await refresh();
      if (action === "accept") await openConversation(offer.conversation_id);
    } catch (err) {
      banner(`Could not ${action} the offer: ${err.message}`);
      setTimeout(() => banner(""), 4000);
      await refresh();
    }
  }

  // -- a conversation -----------------------------------------------------------

  async function openConversation(id) {
    if (state.current !== id) {
      state.current = id;
      state.cursor = 0;
      $("transcript").replaceChildren();
      $("reply").value = "";
      $("conv-error").textContent = "";
    }
    const c = state.conversations.find((x) => x.id === id);
    $("conv-title").replaceChildren(...(c ? [channelIcon(c.channel), " ", c.customer_name, c.queue ? ` \u00b7 ${c.queue}` : ""] : []));
    $("conv-clock").replaceChildren(c ? slaClock(c) : "");
    renderLabels(c ? c.labels : []);
    $("conversation").hidden = false;
    $("empty").hidden = true;
    document.body.classList.add("reading");
    renderConversations();
    await loadTranscript();
  }

  function closeConversation() {
    state.current = null;
    $("conversation").hidden = true;
    $("empty").hidden = false;
    document.body.classList.remove("reading");
    renderConversations();
  }

  async function loadTranscript() {
    const id = state.current;
    if (!id) return;
    for (;;) {
      let page;
      try {
        page = await api("GET", `/agent/conversations/${id}/messages?after=${state.cursor}&limit=200`);
      } catch (err) {
        $("conv-error").textContent = `The transcript cannot be read: ${err.message}`;
        return;
      }
      if (state.current !== id) return;
      page.messages.forEach(showMessage);
      state.cursor = page.next_after;
      if (page.messages.length < 200) break;
    }
  }

  function author(m) {
    if (m.author === "customer") return "Customer";
    if (m.author === "note") return `Note \u00b7 ${state.names.get(m.agent_id) || "agent"}`;
    if (m.author === "agent") return state.names.get(m.agent_id) || "Agent";
    return `Automated (${AUTOMATED[m.author] || m.author})`;
  }

  function attachmentNode(a) {
    const label = [a.name || "attachment", a.content_type, a.size ? `${Math.ceil(a.size / 1024)} KB` : null]
      .filter(Boolean).join(" \u00b7 ");
    const safe = typeof a.url === "string" && /^https?:\/\//i.test(a.url);
    return el("li", { class: "attachment" },
      safe ? el("a", { href: a.url, target: "_blank", rel: "noopener noreferrer" }, label) : label);
  }

  function tickNode(status, reason) {
    return el("span", { class: `tick tick-${status}`, data: { status }, title: reason || status },
      TICKS[status] || status, status === "failed" && reason ? `: ${reason}` : "");
  }

  function showMessage(m) {
    const kind = m.author === "customer" ? "customer" : m.author === "agent" ? "agent" : m.author === "note" ? "note" : "automated";
    const node = el("li", { class: `msg ${kind}`, data: { id: m.id, author: m.author } },
      el("div", { class: "msg-meta" }, author(m), " \u00b7 ", new Date(m.at).toLocaleTimeString(),
        m.direction === "outbound" && m.status ? tickNode(m.status, m.status_reason) : null),
      m.subject ? el("div", { class: "subject" }, m.subject) : null,
      el("div", { class: "text" }, m.stripped_text || m.text || ""),
      m.attachments && m.attachments.length ? el("ul", { class: "attachments" }, ...m.attachments.map(attachmentNode)) : null);
    const existing = $("transcript").querySelector(`li[data-id="${CSS.escape(m.id)}"]`);
    if (existing) existing.replaceWith(node); else $("transcript").append(node);
    node.scrollIntoView({ block: "end" });
  }

  function setTick(messageId, status, reason) {
    const node = $("transcript").querySelector(`li[data-id="${CSS.escape(messageId)}"] .msg-meta`);
    if (!node) return;
    const old = node.querySelector(".tick");
    const fresh = tickNode(status, reason);
    if (old) old.replaceWith(fresh); else node.append(fresh);
  }

  // A reply shows at once; a failed send stays with a retry that sends the same reply id,
  // so a reply that did reach the server is not sent twice.
  async function send(text, replyId) {
    const id = state.current;
    const node = el("li", { class: "msg agent sending", data: { id: replyId, author: "agent" } },
      el("div", { class: "msg-meta" }, state.me.name, " \u00b7 sending\u2026"), el("div", { class: "text" }, text));
    const existing = $("transcript").querySelector(`li[data-id="${CSS.escape(replyId)}"]`);
    if (existing) existing.replaceWith(node); else $("transcript").append(node);
    try {
      await api("POST", `/agent/conversations/${id}/reply`, { text, reply_id: replyId });
      if (state.current === id) await loadTranscript();
      await refresh();
    } catch (err) {
      node.classList.add("send-failed");
      node.querySelector(".msg-meta").replaceChildren(`Not sent: ${err.message} `,
        el("button", { type: "button", class: "retry", on: { click: () => send(text, replyId) } }, "Retry"));
    }
  }

  async function addNote(text) {
    try {
      await api("POST", `/agent/conversations/${state.current}/notes`, { text });
      await loadTranscript();
    } catch (err) {
      $("conv-error").textContent = `The note was not saved: ${err.message}`;
    }
  }

  function submit() {
    const text = $("reply").value;
    if (!text.trim() || !state.current) return;
    $("reply").value = "";
    hideCanned();
    if ($("note-mode").checked) addNote(text); else send(text, uuid4());
  }

  // -- canned responses: "/" then a filter ---------------------------------------

  function cannedMatches() {
    const value = $("reply").value;
    if (!value.startsWith("/")) return [];
    const filter = value.slice(1).toLowerCase();
    const c = state.conversations.find((x) => x.id === state.current);
    return state.canned.filter((r) => (r.queue === null || (c && r.queue === c.queue))
      && (r.shortcut.toLowerCase().includes(filter) || r.text.toLowerCase().includes(filter)));
  }

  let cannedIndex = 0; // the highlighted match: arrows move it, Enter inserts it

  function showCanned() {
    const matches = cannedMatches();
    cannedIndex = Math.min(cannedIndex, Math.max(0, matches.length - 1));
    const list = $("canned");
    list.replaceChildren(...matches.map((r, i) => el("li", {
      class: `canned-item${i === cannedIndex ? " active" : ""}`, on: { click: () => insertCanned(r) },
    }, el("strong", {}, `/${r.shortcut}`), " ", r.text)));
    list.hidden = matches.length === 0;
  }

  function moveCanned(step) {
    const count = cannedMatches().length;
    if (!count) return;
    cannedIndex = (cannedIndex + step + count) % count;
    showCanned();
  }

  function hideCanned() { $("canned").hidden = true; }

  function insertCanned(r) {
    $("reply").value = r.text;
    hideCanned();
    $("reply").focus();
  }

  // -- labels: the whole set is sent on each change -------------------------------

  function renderLabels(current) {
    $("conv-labels").replaceChildren(...current.map((name) => el("span", { class: "label-chip", data: { label: name } }, name)));
    // Retired labels the conversation still carries stay listed, so they can be taken off.
    const names = [...new Set([...state.labels.map((l) => l.name), ...current])].sort();
    $("label-choices").replaceChildren(el("legend", { class: "sr" }, "Labels of this conversation"),
      ...names.map((name) => el("label", { class: "label-choice" },
        el("input", { type: "checkbox", value: name, checked: current.includes(name), on: { change: saveLabels } }), " ", name)));
  }

  async function saveLabels() {
    const id = state.current;
    const labels = [...$("label-choices").querySelectorAll("input:checked")].map((box) => box.value);
    try {
      const found = await api("PUT", `/agent/conversations/${id}/labels`, { labels });
      const c = state.conversations.find((x) => x.id === id);
      if (c) c.labels = found.labels;
      if (state.current === id) renderLabels(found.labels);
    } catch (err) {
      $("conv-error").textContent = `Labels not saved: ${err.message}`;
      await refresh();
      const c = state.conversations.find((x) => x.id === id);
      if (state.current === id) renderLabels(c ? c.labels : []);
    }
  }

  // -- transfer and resolve -----------------------------------------------------

  async function fillTransferTargets() {
    let found;
    try { found = await api("GET", "/agent/directory"); } catch (err) { return; }
    for (const a of found.agents) state.names.set(a.id, a.name);
    $("transfer-target").replaceChildren(
      el("optgroup", { label: "Agents" }, ...found.agents.map((a) => el("option", { value: `agent:${a.id}` }, `${a.name} (${a.status})`))),
      el("optgroup", { label: "Queues" }, ...found.queues.map((q) => el("option", { value: `queue:${q}` }, q))));
  }

  async function transfer() {
    const [kind, target] = $("transfer-target").value.split(/:(.*)/s);
    const note = $("transfer-note").value.trim() || null;
    const body = kind === "agent" ? { to_agent_id: target, note } : { to_queue: target, note };
    try {
      await api("POST", `/agent/conversations/${state.current}/transfer`, body);
      $("transfer-note").value = "";
      $("transfer-box").open = false;
      closeConversation();
      await refresh();
    } catch (err) {
      $("conv-error").textContent = `Transfer failed: ${err.message}`;
    }
  }

  async function resolve() {
    try {
      await api("POST", `/agent/conversations/${state.current}/resolve`);
      closeConversation();
      await refresh();
    } catch (err) {
      $("conv-error").textContent = `Could not resolve: ${err.message}`;
    }
  }

  // -- the live stream ------------------------------------------------------------

  // EventSource reconnects by itself and sends Last-Event-ID, so the server replays what was
  // missed; the banner says when it is down.
  function connect() {
    const stream = new EventSource("/agent/stream");
    state.stream = stream;
    // Back (or first) on the stream: what it replays comes next; a read covers the rest.
    stream.addEventListener("ready", () => { banner(""); refresh(); loadTranscript(); });
    stream.onerror = () => {
      if (stream.readyState === EventSource.CLOSED) {
        refresh(); // the session may have ended (401): refresh says so
        setTimeout(() => { if (state.stream === stream) connect(); }, 3000);
      }
      banner("Disconnected from the server: reconnecting\u2026");
    };
    const workspaceChanged = () => refresh();
    for (const type of ["offer.created", "offer.accepted", "offer.declined", "offer.timed_out", "offer.returned",
      "offer.withdrawn", "conversation.released"]) stream.addEventListener(type, workspaceChanged);
    stream.addEventListener("status.changed", (e) => { $("status").value = JSON.parse(e.data).status; });
    const transcriptChanged = (e) => {
      if (JSON.parse(e.data).conversation_id === state.current) loadTranscript();
      refresh();
    };
    stream.addEventListener("message.created", transcriptChanged);
    stream.addEventListener("note.created", transcriptChanged);
    stream.addEventListener("message.status", (e) => {
      const data = JSON.parse(e.data);
      if (data.conversation_id === state.current) setTick(data.message_id, data.status, data.reason);
    });
  }

  function stop(message) {
    if (state.stream) state.stream.close();
    state.stream = null;
    Console.signedOut(message);
  }

  async function setStatus() {
    try {
      await api("PUT", "/agent/status", { status: $("status").value });
    } catch (err) {
      banner(`Status not changed: ${err.message}`);
    }
    await refresh();
  }

  function start(workspace) {
    $("status-box").hidden = false;
    $("status").addEventListener("change", setStatus);
    $("send").addEventListener("click", submit);
    $("reply").addEventListener("keydown", (e) => {
      const listing = !$("canned").hidden;
      if (listing && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
        e.preventDefault();
        moveCanned(e.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if (listing && e.key === "Escape") { hideCanned(); return; }
      if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
      e.preventDefault();
      const matches = listing ? cannedMatches() : [];
      if (matches.length) insertCanned(matches[cannedIndex] || matches[0]); else submit();
    });
    $("reply").addEventListener("input", () => { cannedIndex = 0; showCanned(); });
    $("transfer").addEventListener("click", transfer);
    $("transfer-box").addEventListener("toggle", () => { if ($("transfer-box").open) fillTransferTargets(); });
    $("resolve").addEventListener("click", resolve);
    $("back").addEventListener("click", closeConversation);
    window.addEventListener("console:signout", () => { if (state.stream) state.stream.close(); state.stream = null; });
    render(workspace);
    api("GET", "/agent/canned-responses").then((found) => { state.canned = found; }, () => {});
    api("GET", "/agent/labels").then((found) => { state.labels = found; }, () => {});
    fillTransferTargets();
    connect();
    setInterval(tick, 1000);
  }

  return { start, refresh };
})();
