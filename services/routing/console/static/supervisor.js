// The supervisor view: queues, agents and waiting conversations, read every few seconds
// (polling /supervisor/view) while the view is shown; offer a conversation, set an agent away.
"use strict";

const Supervisor = (() => {
  const { api, el, $, now, syncClock, duration } = Console;
  const POLL_MS = 3000;
  let timer = null;
  let view = null;
  // The agent picked for each waiting conversation: kept across the re-renders of each poll.
  const picked = new Map();

  function percent(level) {
    return level === null ? "\u2013" : `${Math.round(level * 100)}%`;
  }

  function load(agent) {
    const channels = Object.keys(agent.capacity).filter((c) => agent.capacity[c] > 0 || agent.load[c]);
    return channels.map((c) => `${c} ${agent.load[c] || 0}/${agent.capacity[c] || 0}`).join(", ");
  }

  function render() {
    syncClock(view.server_time);
    $("sup-time").textContent = `Last read ${new Date(now()).toLocaleTimeString()}.`;
    $("queues").tBodies[0].replaceChildren(...view.queues.map((q) => el("tr", { data: { queue: q.name } },
      el("td", {}, q.name), el("td", {}, q.channel),
      el("td", { class: "num waiting" }, q.waiting), el("td", { class: "num offered" }, q.offered),
      el("td", { class: "num assigned" }, q.assigned), el("td", { class: "num" }, duration(q.longest_wait_seconds)),
      el("td", { class: "num" }, percent(q.service_level)))));
    $("agents").tBodies[0].replaceChildren(...view.agents.map((a) => el("tr", { data: { agent: a.id } },
      el("td", {}, a.name), el("td", { class: `agent-status status-${a.status}` }, a.status), el("td", {}, load(a)),
      el("td", {}, a.status === "available" || a.status === "busy"
        ? el("button", { type: "button", class: "set-away", on: { click: () => setAway(a) } }, "Set away") : null))));
    const available = view.agents.filter((a) => a.status === "available");
    $("waiting").tBodies[0].replaceChildren(...view.waiting.map((w) => {
      const choice = el("select", { "aria-label": "Agent", on: { change: (e) => picked.set(w.id, e.target.value) } },
        ...available.map((a) => el("option", { value: a.id, selected: picked.get(w.id) === a.id }, a.name)));
      return el("tr", { data: { conversation: w.id } },
        el("td", {}, w.customer_name), el("td", {}, w.queue || "\u2013"),
        el("td", { class: "num" }, w.queued_at ? duration((now() - Date.parse(w.queued_at)) / 1000) : ""),
        el("td", {}, available.length ? el("span", {}, choice,
          el("button", { type: "button", class: "offer-to", on: { click: () => offer(w, choice.value) } }, "Offer"))
          : "no agent available"));
    }));
  }

  async function poll() {
    try {
      view = await api("GET", "/supervisor/view");
      render();
      $("sup-error").textContent = "";
    } catch (err) {
      $("sup-error").textContent = `The view cannot be read: ${err.message}`;
    }
  }

  async function offer(waiting, agentId) {
    try {
      await api("POST", `/supervisor/conversations/${waiting.id}/offer`, { agent_id: agentId });
    } catch (err) {
      $("sup-error").textContent = `Not offered: ${err.message}`;
    }
    await poll();
  }

  async function setAway(agent) {
    try {
      await api("PUT", `/supervisor/agents/${agent.id}/status`, { status: "away" });
    } catch (err) {
      $("sup-error").textContent = `Status not changed: ${err.message}`;
    }
    await poll();
  }

  function start() {
    document.addEventListener("console:view", (e) => {
      clearInterval(timer);
      timer = null;
      if (e.detail === "supervisor-view") {
        poll();
        timer = setInterval(poll, POLL_MS);
      }
    });
    window.addEventListener("console:signout", () => { clearInterval(timer); timer = null; });
  }

  return { start };
})();
