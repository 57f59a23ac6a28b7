"""The matcher and the timers: offers, offer timeouts, overflow, reply timeouts.

Each pass is one transaction with row locks: conversations are taken with SKIP
LOCKED so routing instances share the work, and an agent's load is counted again
after the agent's row is locked, so capacity holds however many instances run.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import holding, presence
from services.routing.lifecycle import Steps
from services.routing.repository import agents, contacts, conversations, offers, queues
from services.routing.settings import RoutingSettings
from shared.events import LifecycleStep

Row = dict[str, Any]

#: Plan-lock-offer rounds one matching transaction makes at most.
MAX_ROUNDS = 8


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Matcher:
    """One routing instance's view of the rules, from its settings."""

    settings: RoutingSettings

    def offer_timeout_s(self, queue: Row | None) -> float:
        if queue is not None and queue["offer_timeout_seconds"] is not None:
            return float(queue["offer_timeout_seconds"])
        return self.settings.offer_timeout_s

    async def sticky_agents(
        self, session: AsyncSession, waiting: list[Row], at: datetime
    ) -> dict[Any, Any]:
        """Conversation id -> the customer's last agent, where still within the window."""
        contact_ids = list({c["contact_id"] for c in waiting if c["contact_id"] is not None})
        if not contact_ids:
            return {}
        last = await contacts.last_agents(session, contact_ids)
        since = at - timedelta(seconds=self.settings.sticky_window_s)
        sticky = {}
        for conversation in waiting:
            contact = last.get(conversation["contact_id"])
            last_at = contact["last_agent_at"] if contact is not None else None
            if contact is not None and last_at is not None and last_at >= since:
                sticky[conversation["id"]] = contact["last_agent_id"]
        return sticky

    async def assign_waiting(self, session: AsyncSession, steps: Steps) -> int:
        """Offer queued conversations, in queue order, to their best eligible agents."""
        servable = await queues.servable_queue_ids(session)
        if not servable:
            return 0
        waiting = await conversations.lock_waiting(session, servable, self.settings.match_batch)
        if not waiting:
            return 0
        at = now()
        queue_rows = {q["id"]: q for q in await queues.queues_by_ids(session, servable)}
        waiting = [c for c in waiting if c["queue_id"] in queue_rows]
        plan = _Plan(
            queues=queue_rows,
            tried=await _tried(session, waiting),
            sticky=await self.sticky_agents(session, waiting, at),
        )
        for queue_id in {c["queue_id"] for c in waiting}:
            queue = queue_rows[queue_id]
            plan.pools[queue_id] = [
                plan.agent(row, queue["channel"])
                for row in await agents.pool(
                    session,
                    channel=queue["channel"],
                    skills=list(queue["required_skills"]),
                    language=queue["language"],
                )
            ]
        chosen: list[tuple[Row, Any]] = []
        pending = waiting
        # Plan on what was read, lock the chosen agents (skipping those another instance
        # holds) and count their load again under the lock; offer the plan up to its first
        # choice that no longer holds, and plan the rest again with what was learnt.
        for _ in range(MAX_ROUNDS):
            proposal = plan.propose(pending)
            if not proposal:
                break
            unlocked = {agent_id for _, agent_id in proposal} - plan.locked - plan.excluded
            if unlocked:
                await plan.lock(session, sorted(unlocked))
            pending = []
            for n, (conversation, agent_id) in enumerate(proposal):
                if not plan.take(conversation, agent_id):
                    pending = [c for c, _ in proposal[n:]]
                    break
                chosen.append((conversation, agent_id))
            if not pending:
                break
        by_queue: dict[Any, list[tuple[Row, Any]]] = {}
        for conversation, agent_id in chosen:
            by_queue.setdefault(conversation["queue_id"], []).append((conversation, agent_id))
        for queue_id, choices in by_queue.items():
            await holding.offer_many(
                session,
                steps,
                choices=choices,
                at=at,
                timeout_s=self.offer_timeout_s(queue_rows[queue_id]),
            )
        return len(chosen)

    async def expire_offers(self, session: AsyncSession, steps: Steps) -> int:
        """Time out overdue offers; an agent who lets N time out in a row is set away."""
        at = now()
        expired = await offers.expired_conversation_ids(session, at, self.settings.match_batch)
        done = 0
        for item in expired:
            conversation = await conversations.lock_conversation(
                session, item["conversation_id"], skip_locked=True
            )
            pending = await offers.pending_offer_of(session, item["conversation_id"])
            if conversation is None or pending is None or pending["id"] != item["id"]:
                continue
            agent_id = await holding.back_to_queue(
                session,
                steps,
                conversation=conversation,
                at=at,
                step=LifecycleStep.TIMED_OUT,
                offer_state="timed_out",
            )
            agent = await agents.lock_agent(session, agent_id)
            assert agent is not None
            timeouts = agent["consecutive_timeouts"] + 1
            await agents.update_agent(session, agent_id, {"consecutive_timeouts": timeouts})
            if timeouts >= self.settings.timeouts_before_away and agent["status"] == "available":
                await presence.set_status(session, steps, agent_id=agent_id, status="away", at=at)
            done += 1
        return done

    async def overflow(self, session: AsyncSession, steps: Steps) -> int:
        """Widen the pool of conversations waiting past their queue's overflow time."""
        at = now()
        due = await conversations.lock_overflowing(session, at, self.settings.match_batch)
        for conversation in due:
            queue = await queues.queue_by_id(session, conversation["queue_id"])
            target_id = queue["overflow_queue_id"] if queue is not None else None
            target = await queues.queue_by_id(session, target_id) if target_id else None
            if queue is not None and target is not None:
                await holding.place(
                    session,
                    steps,
                    conversation=conversation,
                    at=at,
                    queue=target,
                    note=f"overflow from {queue['name']}",
                )
            else:
                values = {"optional_skills_dropped": True}
                await conversations.update_conversation(session, conversation["id"], values)
        return len(due)

    async def reply_timeouts(self, session: AsyncSession, steps: Steps) -> int:
        """Re-queue conversations whose agent has not replied within the queue's timeout."""
        at = now()
        overdue = await conversations.lock_reply_overdue(session, at, self.settings.match_batch)
        for conversation in overdue:
            await holding.back_to_queue(
                session, steps, conversation=conversation, at=at, note="no reply in time"
            )
        return len(overdue)

    async def place_unplaced(self, session: AsyncSession, steps: Steps) -> int:
        """Place conversations no queue took when they arrived (none matched, or full)."""
        if not await queues.any_unplaced(session):
            return 0
        placed = 0
        at = now()
        for queue in await queues.all_queues(session):
            waiting = await conversations.lock_unplaced_for(
                session, queue, self.settings.match_batch
            )
            for conversation in waiting:
                placed += await holding.place(session, steps, conversation=conversation, at=at)
        return placed


async def _tried(session: AsyncSession, waiting: list[Row]) -> dict[Any, set[Any]]:
    """Conversation id -> agents already offered it in its current cycle."""
    cycle = {c["id"]: c["cycle_started_at"] for c in waiting}
    tried: dict[Any, set[Any]] = {}
    for made in await offers.offered_agents(session, list(cycle)):
        if made["offered_at"] >= cycle[made["conversation_id"]]:
            tried.setdefault(made["conversation_id"], set()).add(made["agent_id"])
    return tried


@dataclass
class _Agent:
    """An agent's standing on one channel as this transaction knows it."""

    id: Any
    channel: str
    skills: frozenset[str]
    languages: frozenset[str] | None
    last_idle_at: datetime
    capacity: int
    load: int


@dataclass
class _Plan:
    """The matcher's working state for one transaction: who may take what, and who is locked."""

    queues: dict[Any, Row]
    tried: dict[Any, set[Any]]
    sticky: dict[Any, Any]
    pools: dict[Any, list[_Agent]] = field(default_factory=dict)
    agents: dict[tuple[Any, str], _Agent] = field(default_factory=dict)
    locked: set[Any] = field(default_factory=set)
    excluded: set[Any] = field(default_factory=set)

    def agent(self, row: Row, channel: str) -> _Agent:
        """The one entry of this agent on this channel (queues of a channel share it)."""
        key = (row["id"], channel)
        if key not in self.agents:
            self.agents[key] = _Agent(
                id=row["id"],
                channel=channel,
                skills=frozenset(row["skills"]),
                languages=None,
                last_idle_at=row["last_idle_at"],
                capacity=int(row["capacity"]),
                load=int(row["load"]),
            )
        return self.agents[key]

    def skills_of(self, conversation: Row) -> frozenset[str]:
        queue = self.queues[conversation["queue_id"]]
        skills = set(queue["required_skills"])
        if not conversation["optional_skills_dropped"]:
            skills.update(queue["optional_skills"])
        return frozenset(skills)

    def fits(self, conversation: Row, agent: _Agent, extra: int = 0) -> bool:
        language = self.queues[conversation["queue_id"]]["language"]
        return (
            agent.id not in self.excluded
            and agent.load + extra < agent.capacity
            and self.skills_of(conversation) <= agent.skills
            and (language is None or agent.languages is None or language in agent.languages)
        )

    def propose(self, pending: list[Row]) -> list[tuple[Row, Any]]:
        """Each conversation, in queue order, with its best agent given the ones before it:
        agents not yet offered it first, then the sticky agent, the least loaded (load over
        capacity), the longest idle."""
        extra: Counter[tuple[Any, str]] = Counter()
        proposal = []
        for conversation in pending:
            tried = self.tried.get(conversation["id"], set())
            sticky = self.sticky.get(conversation["id"])
            best: tuple[Any, ...] | None = None
            for agent in self.pools.get(conversation["queue_id"], []):
                more = extra[(agent.id, agent.channel)]
                if not self.fits(conversation, agent, more):
                    continue
                rank = (
                    agent.id in tried,
                    agent.id != sticky,
                    (agent.load + more) / agent.capacity,
                    agent.last_idle_at,
                    agent.id,
                )
                if best is None or rank < best:
                    best = rank
            if best is not None:
                agent_id = best[-1]
                extra[(agent_id, conversation["channel"])] += 1
                proposal.append((conversation, agent_id))
        return proposal

    async def lock(self, session: AsyncSession, agent_ids: list[Any]) -> None:
        """Lock these agents where nobody else holds them; count their loads again."""
        rows = await agents.lock_available(session, agent_ids)
        got = {row["id"]: row for row in rows if row["status"] == "available"}
        self.excluded.update(set(agent_ids) - set(got))
        self.locked.update(got)
        channels = {channel for agent_id, channel in self.agents if agent_id in got}
        for channel in channels:
            ids = [agent_id for agent_id, ch in self.agents if ch == channel and agent_id in got]
            loads = await agents.loads_on(session, ids, channel)
            for agent_id in ids:
                agent = self.agents[(agent_id, channel)]
                row = got[agent_id]
                agent.skills = frozenset(row["skills"])
                agent.languages = frozenset(row["languages"])
                agent.capacity = int(row["capacity"].get(channel, 0))
                agent.load = loads[agent_id]

    def take(self, conversation: Row, agent_id: Any) -> bool:
        """Count the offer against the agent if it is locked and still fits."""
        agent = self.agents[(agent_id, conversation["channel"])]
        if agent_id not in self.locked or not self.fits(conversation, agent):
            return False
        agent.load += 1
        return True
