"""The matcher and the timers: offers, offer timeouts, overflow, reply timeouts.

Each pass is one transaction with row locks: conversations are taken with SKIP
LOCKED so routing instances share the work, and an agent's load is counted again
after the agent's row is locked, so capacity holds however many instances run.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import holding, presence
from services.routing.lifecycle import Steps
from services.routing.repository import agents, contacts, conversations, offers, queues
from services.routing.settings import RoutingSettings
from shared.events import LifecycleStep

Row = dict[str, Any]


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

    async def sticky_agent(self, session: AsyncSession, conversation: Row, at: datetime) -> Any:
        if conversation["contact_id"] is None:
            return None
        contact = await contacts.get_contact(session, conversation["contact_id"])
        if contact is None or contact["last_agent_at"] is None:
            return None
        window = timedelta(seconds=self.settings.sticky_window_s)
        return contact["last_agent_id"] if contact["last_agent_at"] >= at - window else None

    async def assign_waiting(self, session: AsyncSession, steps: Steps) -> int:
        """Offer queued conversations, in queue order, to their best eligible agents."""
        servable = await queues.servable_queue_ids(session)
        if not servable:
            return 0
        waiting = await conversations.lock_waiting(session, servable, self.settings.match_batch)
        queue_rows: dict[Any, Row | None] = {}
        offered = 0
        at = now()
        for conversation in waiting:
            queue_id = conversation["queue_id"]
            if queue_id not in queue_rows:
                queue_rows[queue_id] = await queues.queue_by_id(session, queue_id)
            queue = queue_rows[queue_id]
            if queue is None:
                continue
            if await self._offer_best(session, steps, conversation, queue, at):
                offered += 1
        return offered

    async def _offer_best(
        self, session: AsyncSession, steps: Steps, conversation: Row, queue: Row, at: datetime
    ) -> bool:
        skills = list(queue["required_skills"])
        if not conversation["optional_skills_dropped"]:
            skills += [s for s in queue["optional_skills"] if s not in skills]
        candidates = await agents.candidates(
            session,
            conversation_id=conversation["id"],
            cycle_started_at=conversation["cycle_started_at"],
            channel=conversation["channel"],
            skills=skills,
            language=queue["language"],
            sticky_agent_id=await self.sticky_agent(session, conversation, at),
        )
        for candidate in candidates:
            agent = await agents.lock_agent(session, candidate["id"], skip_locked=True)
            if agent is None or agent["status"] != "available":
                continue
            # Counted again under the agent's lock: what we read before may be stale.
            load = await agents.load_on(session, agent["id"], conversation["channel"])
            if load >= candidate["capacity"]:
                continue
            await holding.offer_to(
                session,
                steps,
                conversation=conversation,
                agent_id=agent["id"],
                at=at,
                timeout_s=self.offer_timeout_s(queue),
            )
            return True
        return False

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
        placed = 0
        at = now()
        for queue in await queues.all_queues(session):
            waiting = await conversations.lock_unplaced_for(
                session, queue, self.settings.match_batch
            )
            for conversation in waiting:
                placed += await holding.place(session, steps, conversation=conversation, at=at)
        return placed
