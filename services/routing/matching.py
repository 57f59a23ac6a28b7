"""The matcher and the timers: offers, offer timeouts, overflow, reply timeouts.

Each pass is one transaction with row locks: conversations are taken with SKIP
LOCKED so routing instances share the work, and an agent's load is counted again
after the agent's row is locked, so capacity holds however many instances run.
"""

import bisect
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError

from services.routing import holding, presence
from services.routing.activity import READY
from services.routing.domain import (
    AgentStatus,
    AvailableAgent,
    Conversation,
    OfferState,
    Queue,
    WaitingConversation,
)
from services.routing.settings import RoutingSettings
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.events import LifecycleStep

log = logging.getLogger(__name__)

#: Plan-lock-offer rounds one matching transaction makes at most.
MAX_ROUNDS = 8


@dataclass
class Matcher:
    """One routing instance's view of the rules, from its settings."""

    settings: RoutingSettings

    def offer_timeout_s(self, queue: Queue | None) -> float:
        if queue is not None and queue.offer_timeout_seconds is not None:
            return float(queue.offer_timeout_seconds)
        return self.settings.offer_timeout_s

    def sticky_agents(
        self, waiting: list[WaitingConversation], at: datetime
    ) -> dict[uuid.UUID, uuid.UUID | None]:
        """Conversation id -> the customer's last agent, where still within the window."""
        since = at - timedelta(seconds=self.settings.sticky_window_s)
        return {
            w.conversation.id: w.contact_last_agent_id
            for w in waiting
            if w.contact_last_agent_at is not None and w.contact_last_agent_at >= since
        }

    async def assign_now(self, uow: UnitOfWork) -> bool:
        """:meth:`assign_waiting` inside a caller's transaction, under a savepoint: if matching
        fails, what it did is undone and the caller's own work stands. Whether it settled
        everything it looked at (False: some conversations still wait, or it failed)."""
        records, notices = len(uow.steps.records), len(uow.steps.notices)
        try:
            async with uow.session.begin_nested():
                offered, considered = await self._assign(uow)
        except DBAPIError as exc:
            del uow.steps.records[records:]
            del uow.steps.notices[notices:]
            log.warning("matching left to the worker", extra={"error": repr(exc)})
            return False
        return offered == considered < self.settings.match_batch

    async def assign_waiting(self, uow: UnitOfWork) -> int:
        """Offer queued conversations, in queue order, to their best eligible agents."""
        offered, _ = await self._assign(uow)
        return offered

    async def _assign(self, uow: UnitOfWork) -> tuple[int, int]:
        """(offered, looked at)."""
        servable = {q.id: q for q in await uow.queues.servable_queues()}
        if not servable:
            return 0, 0
        locked = await uow.conversations.lock_waiting(list(servable), self.settings.match_batch)
        if not locked:
            return 0, 0
        at = utc_now()
        plan = _Plan(
            queues=servable,
            tried={w.conversation.id: set(w.tried) for w in locked},
            sticky=self.sticky_agents(locked, at),
        )
        waiting = [w.conversation for w in locked]
        waiting_queues = [servable[q] for q in dict.fromkeys(_queue_of(c) for c in waiting)]
        for channel in {q.channel for q in waiting_queues}:
            of_channel = [q for q in waiting_queues if q.channel == channel]
            required = [list(q.required_skills) for q in of_channel]
            # Agents with every skill of at least one of these queues (all, when one needs none).
            available = await uow.agents.pool(
                channel=channel, any_skills=None if [] in required else required
            )
            pool = [plan.agent(one, channel) for one in available]
            for queue in of_channel:
                plan.add_pool(queue, pool)
        chosen: list[tuple[Conversation, uuid.UUID]] = []
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
                await plan.lock(uow, sorted(unlocked))
            pending = []
            for n, (conversation, agent_id) in enumerate(proposal):
                if not plan.take(conversation, agent_id):
                    pending = [c for c, _ in proposal[n:]]
                    break
                chosen.append((conversation, agent_id))
            if not pending:
                break
        await holding.offer_many(
            uow,
            choices=chosen,
            at=at,
            timeout_s=lambda c: self.offer_timeout_s(servable[_queue_of(c)]),
        )
        return len(chosen), len(waiting)

    async def expire_offers(self, uow: UnitOfWork) -> int:
        """Time out overdue offers; an agent who lets N time out in a row is set away."""
        at = utc_now()
        expired = await uow.offers.expired(at, self.settings.match_batch)
        done = 0
        for offer_id, conversation_id in expired:
            conversation = await uow.conversations.lock(conversation_id, skip_locked=True)
            pending = await uow.offers.pending_of(conversation_id)
            if conversation is None or pending is None or pending.id != offer_id:
                continue
            agent_id = await holding.back_to_queue(
                uow,
                conversation=conversation,
                at=at,
                step=LifecycleStep.TIMED_OUT,
                offer_state=OfferState.TIMED_OUT,
            )
            agent = await uow.agents.lock(agent_id)
            assert agent is not None
            timeouts = agent.consecutive_timeouts + 1
            await uow.agents.update(agent_id, consecutive_timeouts=timeouts)
            if timeouts >= self.settings.timeouts_before_away and agent.status in READY:
                await presence.set_status(uow, agent_id=agent_id, status=AgentStatus.AWAY, at=at)
            done += 1
        return done

    async def overflow(self, uow: UnitOfWork) -> int:
        """Widen the pool of conversations waiting past their queue's overflow time."""
        at = utc_now()
        due = await uow.conversations.lock_overflowing(at, self.settings.match_batch)
        for conversation in due:
            queue = await uow.queues.get(conversation.queue_id) if conversation.queue_id else None
            target_id = queue.overflow_queue_id if queue is not None else None
            target = await uow.queues.get(target_id) if target_id else None
            if queue is not None and target is not None:
                await holding.place(
                    uow,
                    conversation=conversation,
                    at=at,
                    queue=target,
                    note=f"overflow from {queue.name}",
                )
            else:
                await uow.conversations.update(conversation, optional_skills_dropped=True)
        return len(due)

    async def reply_timeouts(self, uow: UnitOfWork) -> int:
        """Re-queue conversations whose agent has not replied within the queue's timeout."""
        at = utc_now()
        overdue = await uow.conversations.lock_reply_overdue(at, self.settings.match_batch)
        for conversation in overdue:
            await holding.back_to_queue(
                uow, conversation=conversation, at=at, note="no reply in time"
            )
        return len(overdue)

    async def place_unplaced(self, uow: UnitOfWork) -> int:
        """Place conversations no queue took when they arrived (none matched, or full)."""
        if not await uow.queues.any_unplaced():
            return 0
        placed = 0
        at = utc_now()
        for queue in await uow.queues.list_all():
            waiting = await uow.conversations.lock_unplaced_for(queue, self.settings.match_batch)
            for conversation in waiting:
                placed += await holding.place(uow, conversation=conversation, at=at)
        return placed


@dataclass
class _Agent:
    """An agent's standing on one channel as this transaction knows it."""

    id: uuid.UUID
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

    queues: dict[uuid.UUID, Queue]
    tried: dict[uuid.UUID, set[uuid.UUID]]
    sticky: dict[uuid.UUID, uuid.UUID | None]
    #: Queue id -> its eligible agents by id (available, required skills, language).
    pools: dict[uuid.UUID, dict[uuid.UUID, _Agent]] = field(default_factory=dict)
    agents: dict[tuple[uuid.UUID, str], _Agent] = field(default_factory=dict)
    locked: set[uuid.UUID] = field(default_factory=set)
    excluded: set[uuid.UUID] = field(default_factory=set)

    def agent(self, available: AvailableAgent, channel: str) -> _Agent:
        """The one entry of this agent on this channel (queues of a channel share it)."""
        key = (available.id, channel)
        if key not in self.agents:
            self.agents[key] = _Agent(
                id=available.id,
                channel=channel,
                skills=frozenset(available.skills),
                languages=frozenset(available.languages),
                last_idle_at=available.last_idle_at,
                capacity=int(available.capacity),
                load=int(available.load),
            )
        return self.agents[key]

    def add_pool(self, queue: Queue, pool: list[_Agent]) -> None:
        required = frozenset(queue.required_skills)
        language = queue.language
        self.pools[queue.id] = {
            a.id: a
            for a in pool
            if required <= a.skills and (language is None or language in a.languages)
        }

    def skills_of(self, conversation: Conversation) -> frozenset[str]:
        queue = self.queues[_queue_of(conversation)]
        skills = set(queue.required_skills)
        if not conversation.optional_skills_dropped:
            skills.update(queue.optional_skills)
        return frozenset(skills)

    def fits(self, conversation: Conversation, agent: _Agent, skills: frozenset[str]) -> bool:
        language = self.queues[_queue_of(conversation)].language
        return (
            agent.id not in self.excluded
            and agent.load + agent.planned < agent.capacity
            and skills <= agent.skills
            and (language is None or language in agent.languages)
        )

    def propose(self, pending: list[Conversation]) -> list[tuple[Conversation, uuid.UUID]]:
        """Each conversation, in queue order, with its best agent given the ones before it:
        agents not yet offered it first, then the sticky agent, the least loaded (load over
        capacity), the longest idle."""
        for known in self.agents.values():
            known.planned = 0
        # Each queue's agents, best first; an agent moves down as the proposal loads it.
        order = {q: sorted(a.rank() for a in pool.values()) for q, pool in self.pools.items()}
        queues_of: dict[uuid.UUID, list[uuid.UUID]] = {}
        for queue_id, pool in self.pools.items():
            for agent_id in pool:
                queues_of.setdefault(agent_id, []).append(queue_id)
        proposal = []
        for conversation in pending:
            agent = self._best(conversation, order[_queue_of(conversation)])
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

    def _best(self, conversation: Conversation, ranks: list[tuple[Any, ...]]) -> _Agent | None:
        pool = self.pools[_queue_of(conversation)]
        skills = self.skills_of(conversation)
        tried = self.tried.get(conversation.id, set())
        sticky_id = self.sticky.get(conversation.id)
        sticky = pool.get(sticky_id) if sticky_id is not None else None
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

    async def lock(self, uow: UnitOfWork, agent_ids: list[uuid.UUID]) -> None:
        """Lock these agents where nobody else holds them; count their loads again."""
        rows = await uow.agents.lock_available(agent_ids)
        got = {row.id: row for row in rows if row.status in READY}
        self.excluded.update(set(agent_ids) - set(got))
        self.locked.update(got)
        if not got:
            return
        # Counted in a statement of its own, after the lock: the locking statement's snapshot
        # may predate an offer another instance committed before releasing the agent.
        loads, wrapping = await uow.agents.standing(sorted(got))
        for (agent_id, channel), agent in self.agents.items():
            if agent_id not in got:
                continue
            row = got[agent_id]
            agent.skills = frozenset(row.skills)
            agent.languages = frozenset(row.languages)
            # An agent in wrap-up on the channel takes nothing new on it.
            agent.capacity = 0 if (agent_id, channel) in wrapping else row.room_on(channel)
            agent.load = loads[(agent_id, channel)]

    def take(self, conversation: Conversation, agent_id: uuid.UUID) -> bool:
        """Count the offer against the agent if it is locked and still fits."""
        agent = self.agents[(agent_id, conversation.channel)]
        agent.planned = 0
        if agent_id not in self.locked or not self.fits(
            conversation, agent, self.skills_of(conversation)
        ):
            return False
        agent.load += 1
        return True


def _queue_of(conversation: Conversation) -> uuid.UUID:
    """The queue of a conversation the matcher took: it waits in one."""
    assert conversation.queue_id is not None
    return conversation.queue_id
