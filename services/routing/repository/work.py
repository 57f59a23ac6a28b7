"""Agents' wrap-ups and the activity routing last announced for them."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import ConversationStatus
from services.routing.models import agent_activity, agent_wrap_up, conversation, queue


@dataclass(frozen=True)
class WrapUp:
    agent_id: uuid.UUID
    channel: str
    conversation_id: uuid.UUID
    queue: str | None
    started_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Activity:
    """What an agent is doing, overall (scope '') or on one channel."""

    state: str
    queue: str | None
    since: datetime | None = None


@dataclass(frozen=True)
class Handling:
    """Assigned conversations of one channel: how many, and the queue of the earliest."""

    channel: str
    count: int
    queue: str | None


class WorkRepository:
    """Wrap-ups and activity rows, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def take_wrap_ups(self, agent_id: uuid.UUID, channel: str | None = None) -> list[WrapUp]:
        """Delete the agent's wrap-ups (of ``channel``, else all) and return them."""
        statement = delete(agent_wrap_up).where(agent_wrap_up.c.agent_id == agent_id)
        if channel is not None:
            statement = statement.where(agent_wrap_up.c.channel == channel)
        rows = await self._session.execute(statement.returning(agent_wrap_up))
        return [WrapUp(**row._mapping) for row in rows]

    async def add_wrap_up(self, wrap_up: WrapUp) -> None:
        await self._session.execute(insert(agent_wrap_up).values(**wrap_up.__dict__))

    async def wrap_ups_of(self, agent_id: uuid.UUID) -> list[WrapUp]:
        rows = await self._session.execute(
            select(agent_wrap_up).where(agent_wrap_up.c.agent_id == agent_id)
        )
        return [WrapUp(**row._mapping) for row in rows]

    async def agents_with_due_wrap_ups(self, now: datetime, limit: int) -> list[uuid.UUID]:
        rows = await self._session.execute(
            select(agent_wrap_up.c.agent_id)
            .where(agent_wrap_up.c.ends_at <= now)
            .group_by(agent_wrap_up.c.agent_id)
            .order_by(func.min(agent_wrap_up.c.ends_at))
            .limit(limit)
        )
        return [row.agent_id for row in rows]

    async def handling(self, agent_id: uuid.UUID) -> list[Handling]:
        """The agent's assigned conversations per channel, with the queue of the earliest."""
        rows = await self._session.execute(
            select(conversation.c.channel, queue.c.name, conversation.c.accepted_at)
            .outerjoin(queue, queue.c.id == conversation.c.queue_id)
            .where(
                conversation.c.agent_id == agent_id,
                conversation.c.status == ConversationStatus.ASSIGNED,
            )
            .order_by(conversation.c.accepted_at, conversation.c.id)
        )
        found: dict[str, Handling] = {}
        for channel, name, _ in rows:
            held = found.get(channel)
            found[channel] = (
                Handling(channel, 1, name)
                if held is None
                else Handling(channel, held.count + 1, held.queue)
            )
        return list(found.values())

    async def activity_of(self, agent_id: uuid.UUID) -> dict[str, Activity]:
        rows = await self._session.execute(
            select(agent_activity).where(agent_activity.c.agent_id == agent_id)
        )
        return {row.scope: Activity(row.state, row.queue, row.since) for row in rows}

    async def save_activity(
        self, agent_id: uuid.UUID, scopes: dict[str, Activity], at: datetime
    ) -> None:
        rows = [
            {"agent_id": agent_id, "scope": scope, "state": a.state, "queue": a.queue, "since": at}
            for scope, a in sorted(scopes.items())
        ]
        if not rows:
            return
        statement = insert(agent_activity)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[agent_activity.c.agent_id, agent_activity.c.scope],
                set_={
                    "state": statement.excluded.state,
                    "queue": statement.excluded.queue,
                    "since": statement.excluded.since,
                },
            ),
            rows,
        )


__all__ = ["Activity", "Handling", "WorkRepository", "WrapUp"]
