"""The matcher and the timers: offers, offer timeouts, overflow, reply timeouts.

Each pass is one transaction with row locks: conversations are taken with SKIP
LOCKED so routing instances share the work, and an agent's load is counted again
after the agent's row is locked, so capacity holds however many instances run.
"""

import bisect
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import holding, presence
from services.routing.lifecycle import Steps
from services.routing.repository import agents, conversations, offers, queues
from services.routing.settings import RoutingSettings
from shared.events import LifecycleStep

Row = dict[str, Any]

log = logging.getLogger(__name__)

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

    def sticky_agents(self, waiting: list[Row], at: datetime) -> dict[Any, Any]:
        """Conversation id -> the customer's last agent, where still within the window."""
        since = at - timedelta(seconds=self.settings.sticky_window_s)
        return {
            c["id"]: c["contact_last_agent_id"]
            for c in waiting
            if c["contact_last_agent_at"] is not None and c["contact_last_agent_at"] >= since
        }

    async def assign_now(self, session: AsyncSession, steps: Steps) -> bool:
        """:meth:`assign_waiting` inside a caller's transaction, under a savepoint: if matching
        fails, what it did is undone and the caller's own work stands. Whether it settled
        everything it looked at (False: some conversations still wait, or it failed)."""
        records, notices = len(steps.records), len(steps.notices)
        try:
            async with session.begin_nested():
                offered, considered = await self._assign(session, steps)
        except DBAPIError as exc:
            del steps.records[records:]
            del steps.notices[notices:]
            log.warning("matching left to the worker", extra={"error": repr(exc)})
            return False
        return offered == considered < self.settings.match_batch

    async def assign_waiting(self, session: AsyncSession, steps: Steps) -> int:
        """Offer queued conversations, in queue order, to their best eligible agents."""
        offered, _ = await self._assign(session, steps)
        return offered

    async def _assign(self, session: AsyncSession, steps: Steps) -> tuple[int, int]:
        """(offered, looked at)."""
        queue_rows = {q["id"]: q for q in await queues.servable_queues(session)}
        if not queue_rows:
            return 0, 0
        waiting = await conversations.lock_waiting(
            session, list(queue_rows), self.settings.match_batch
        )
        if not waiting:
            return 0, 0
        at = now()
        plan = _Plan(
            queues=queue_rows,
            tried={c["id"]: set(c["tried"]) for c in waiting},
            sticky=self.sticky_agents(waiting, at),
        )
        waiting_queues = [queue_rows[q] for q in dict.fromkeys(c["queue_id"] for c in waiting)]
        for channel in {q["channel"] for q in waiting_queues}:
            of_channel = [q for q in waiting_queues if q["channel"] == channel]
            required = [list(q["required_skills"]) for q in of_channel]
            # Agents with every skill of at least one of these queues (all, when one needs none).
            rows = await agents.pool(
                session, channel=channel, any_skills=None if [] in required else required
            )
            pool = [plan.agent(row, channel) for row in rows]
            for queue in of_channel:
                plan.add_pool(queue, pool)
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
        return len(chosen), len(waiting)

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


@dataclass
class _Agent:
    """An agent's standing on one channel as this transaction knows it."""

    id: Any
    channel: str
    skills: frozenset[str]
    languages: frozenset[str]
    last_idle_at: datetime
    capacity: int
    #: Conversations of the channel held (exact once the agent is locked).
    load: int
    #: Offers the current proposal gives the agent on top of ``load``.
    planned: int = 0

    def rank(self) -> tuple[Any, ...]:
        """Least loaded (load over capacity), then longest idle, then id."""
        held = self.load + self.planned
        ratio = held / self.capacity if self.capacity > 0 else float("inf")
        return (ratio, self.last_idle_at, self.id)


@dataclass
class _Plan:
    """The matcher's working state for one transaction: who may take what, and who is locked."""

    queues: dict[Any, Row]
    tried: dict[Any, set[Any]]
    sticky: dict[Any, Any]
    #: Queue id -> its eligible agents by id (available, required skills, language).
    pools: dict[Any, dict[Any, _Agent]] = field(default_factory=dict)
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
                languages=frozenset(row["languages"]),
                last_idle_at=row["last_idle_at"],
                capacity=int(row["capacity"]),
                load=int(row["load"]),
            )
        return self.agents[key]

    def add_pool(self, queue: Row, pool: list[_Agent]) -> None:
        required = frozenset(queue["required_skills"])
        language = queue["language"]
        self.pools[queue["id"]] = {
            a.id: a
            for a in pool
            if required <= a.skills and (language is None or language in a.languages)
        }

    def skills_of(self, conversation: Row) -> frozenset[str]:
        queue = self.queues[conversation["queue_id"]]
        skills = set(queue["required_skills"])
        if not conversation["optional_skills_dropped"]:
            skills.update(queue["optional_skills"])
        return frozenset(skills)

    def fits(self, conversation: Row, agent: _Agent, skills: frozenset[str]) -> bool:
        language = self.queues[conversation["queue_id"]]["language"]
        return (
            agent.id not in self.excluded
            and agent.load + agent.planned < agent.capacity
            and skills <= agent.skills
            and (language is None or language in agent.languages)
        )

    def propose(self, pending: list[Row]) -> list[tuple[Row, Any]]:
        """Each conversation, in queue order, with its best agent given the ones before it:
        agents not yet offered it first, then the sticky agent, the least loaded (load over
        capacity), the longest idle."""
        for known in self.agents.values():
            known.planned = 0
        # Each queue's agents, best first; an agent moves down as the proposal loads it.
        order = {q: sorted(a.rank() for a in pool.values()) for q, pool in self.pools.items()}
        queues_of: dict[Any, list[Any]] = {}
        for queue_id, pool in self.pools.items():
            for agent_id in pool:
                queues_of.setdefault(agent_id, []).append(queue_id)
        proposal = []
        for conversation in pending:
            agent = self._best(conversation, order[conversation["queue_id"]])
            if agent is None:
                continue
            before = agent.rank()
            agent.planned += 1
            after = agent.rank()
            for queue_id in queues_of[agent.id]:
                if self.pools[queue_id][agent.id] is agent:
                    ranks = order[queue_id]
                    del ranks[bisect.bisect_left(ranks, before)]
                    bisect.insort(ranks, after)
            proposal.append((conversation, agent.id))
        return proposal

    def _best(self, conversation: Row, ranks: list[tuple[Any, ...]]) -> _Agent | None:
        pool = self.pools[conversation["queue_id"]]
        skills = self.skills_of(conversation)
        tried = self.tried.get(conversation["id"], set())
        sticky = pool.get(self.sticky.get(conversation["id"]))
        if sticky is not None and not self.fits(conversation, sticky, skills):
            sticky = None
        if sticky is not None and sticky.id not in tried:
            return sticky
        fallback = None
        for rank in ranks:
            agent = pool[rank[-1]]
            if not self.fits(conversation, agent, skills):
                continue
            if agent.id not in tried:
                return agent
            if fallback is None:
                fallback = agent
        return sticky if sticky is not None else fallback

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
        agent.planned = 0
        if agent_id not in self.locked or not self.fits(
            conversation, agent, self.skills_of(conversation)
        ):
            return False
        agent.load += 1
        return True
