"""Queries on queues."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, any_, case, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import conversation, queue

Row = dict[str, Any]

WAITING = ("queued", "offered")


async def insert_queue(session: AsyncSession, values: dict[str, Any]) -> Row | None:
    """Insert a queue; None when its name is taken."""
    row = (
        await session.execute(
            insert(queue)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[queue.c.name])
            .returning(queue)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def update_queue(session: AsyncSession, queue_id: uuid.UUID, values: dict[str, Any]) -> Row:
    row = (
        await session.execute(
            update(queue).where(queue.c.id == queue_id).values(**values).returning(queue)
        )
    ).one()
    return dict(row._mapping)


async def queue_by_name(session: AsyncSession, name: str) -> Row | None:
    row = (await session.execute(select(queue).where(queue.c.name == name))).first()
    return dict(row._mapping) if row is not None else None


async def queue_by_id(session: AsyncSession, queue_id: uuid.UUID) -> Row | None:
    row = (await session.execute(select(queue).where(queue.c.id == queue_id))).first()
    return dict(row._mapping) if row is not None else None


async def all_queues(session: AsyncSession) -> list[Row]:
    rows = await session.execute(select(queue).order_by(queue.c.name))
    return [dict(r._mapping) for r in rows]


async def best_queue_for(
    session: AsyncSession, *, channel: str, provider: str, language: str | None
) -> Row | None:
    """The queue that selects this conversation: highest priority, then most specific."""
    specific = func.cardinality(queue.c.providers) + case(
        (queue.c.language.is_not(None), 1), else_=0
    )
    row = (
        await session.execute(
            select(queue)
            .where(
                queue.c.channel == channel,
                or_(func.cardinality(queue.c.providers) == 0, any_(queue.c.providers) == provider),
                or_(queue.c.language.is_(None), queue.c.language == language),
            )
            .order_by(queue.c.priority.desc(), specific.desc(), queue.c.name)
            .limit(1)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def waiting_count(session: AsyncSession, queue_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).where(
            conversation.c.queue_id == queue_id, conversation.c.status.in_(WAITING)
        )
    )
    return int(count or 0)


async def overview(session: AsyncSession, now: datetime) -> list[Row]:
    """Per queue: waiting, offered, assigned, and the longest current wait in seconds."""
    waiting = and_(conversation.c.queue_id == queue.c.id, conversation.c.status == "queued")
    longest = select(func.min(conversation.c.queued_at)).where(waiting).scalar_subquery()
    counts = {
        status: select(func.count())
        .where(conversation.c.queue_id == queue.c.id, conversation.c.status == status)
        .scalar_subquery()
        for status in ("queued", "offered", "assigned")
    }
    rows = await session.execute(
        select(
            queue.c.name,
            queue.c.channel,
            counts["queued"].label("waiting"),
            counts["offered"].label("offered"),
            counts["assigned"].label("assigned"),
            longest.label("oldest_queued_at"),
        ).order_by(queue.c.name)
    )
    result = []
    for r in rows:
        row = dict(r._mapping)
        oldest = row.pop("oldest_queued_at")
        row["longest_wait_seconds"] = (
            max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        )
        result.append(row)
    return result


async def unplaced_count(session: AsyncSession) -> int:
    count = await session.scalar(
        select(func.count()).where(
            conversation.c.status == "queued", conversation.c.queue_id.is_(None)
        )
    )
    return int(count or 0)


async def any_unplaced(session: AsyncSession) -> bool:
    """Whether a conversation waits for a queue to take it."""
    statement = select(
        exists().where(conversation.c.status == "queued", conversation.c.queue_id.is_(None))
    )
    return bool(await session.scalar(statement))


async def servable_queues(session: AsyncSession) -> list[Row]:
    """Queues with at least one available agent who has their skills and room on the channel."""
    rows = await session.execute(
        text(
            """
            SELECT q.* FROM routing.queue q
            WHERE EXISTS (
                SELECT 1 FROM routing.agent a
                WHERE a.status = 'available'
                  AND a.skills @> q.required_skills
                  AND (q.language IS NULL OR q.language = ANY(a.languages))
                  AND COALESCE((a.capacity ->> q.channel)::int, 0) > (
                      SELECT count(*) FROM routing.conversation h
                      WHERE h.agent_id = a.id AND h.channel = q.channel
                  )
            )
            """
        )
    )
    return [dict(row._mapping) for row in rows]
