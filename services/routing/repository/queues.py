"""Queries on queues."""

import uuid
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, Unpack

from sqlalchemy import Row, and_, any_, case, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import (
    WAITING_STATUSES,
    AgentStatus,
    ConversationStatus,
    Queue,
    QueueLoad,
    QueueRules,
)
from services.routing.models import conversation, queue


def _queue(row: Row[Any]) -> Queue:
    return Queue(**row._mapping)


#: Queues with at least one available agent who has their skills and room on the channel.
_SERVABLE = text(
    f"""
    SELECT q.* FROM routing.queue q
    WHERE EXISTS (
        SELECT 1 FROM routing.agent a
        WHERE a.status IN ('{AgentStatus.AVAILABLE}', '{AgentStatus.WRAP_UP}')
          AND a.skills @> q.required_skills
          AND (q.language IS NULL OR q.language = ANY(a.languages))
          AND COALESCE((a.capacity ->> q.channel)::int, 0) > (
              SELECT count(*) FROM routing.conversation h
              WHERE h.agent_id = a.id AND h.channel = q.channel
          )
    )
    """  # noqa: S608 (only enum members are formatted in)
)


#: :meth:`QueueRepository.best_queue_for` for many (channel, provider, language) at once.
_BEST_QUEUES = text(
    """
    SELECT t.n, q.*
    FROM unnest(
        CAST(:channels AS text[]), CAST(:providers AS text[]), CAST(:languages AS text[])
    ) WITH ORDINALITY AS t(channel, provider, language, n)
    JOIN LATERAL (
        SELECT * FROM routing.queue q
        WHERE q.channel = t.channel
          AND (cardinality(q.providers) = 0 OR t.provider = ANY(q.providers))
          AND (q.language IS NULL OR q.language = t.language)
        ORDER BY q.priority DESC,
            cardinality(q.providers) + CASE WHEN q.language IS NOT NULL THEN 1 ELSE 0 END DESC,
            q.name
        LIMIT 1
    ) q ON true
    """
)


class QueueRepository:
    """Queues and their load, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, new: Queue) -> Queue | None:
        """Insert a queue; None when its name is taken."""
        values = {f.name: getattr(new, f.name) for f in fields(Queue)}
        row = (
            await self._session.execute(
                insert(queue)
                .values(**values)
                .on_conflict_do_nothing(index_elements=[queue.c.name])
                .returning(queue)
            )
        ).first()
        return _queue(row) if row is not None else None

    async def update(self, queue_id: uuid.UUID, **changes: Unpack[QueueRules]) -> Queue:
        row = (
            await self._session.execute(
                update(queue).where(queue.c.id == queue_id).values(**changes).returning(queue)
            )
        ).one()
        return _queue(row)

    async def named(self, name: str) -> Queue | None:
        row = (await self._session.execute(select(queue).where(queue.c.name == name))).first()
        return _queue(row) if row is not None else None

    async def get(self, queue_id: uuid.UUID) -> Queue | None:
        row = (await self._session.execute(select(queue).where(queue.c.id == queue_id))).first()
        return _queue(row) if row is not None else None

    async def get_many(self, queue_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Queue]:
        """These queues by id, in one statement (absent: no such queue)."""
        if not queue_ids:
            return {}
        rows = await self._session.execute(select(queue).where(queue.c.id.in_(queue_ids)))
        return {q.id: q for q in map(_queue, rows)}

    async def list_all(self) -> list[Queue]:
        rows = await self._session.execute(select(queue).order_by(queue.c.name))
        return [_queue(r) for r in rows]

    async def best_queue_for(
        self, *, channel: str, provider: str, language: str | None
    ) -> Queue | None:
        """The queue that selects this conversation: highest priority, then most specific."""
        specific = func.cardinality(queue.c.providers) + case(
            (queue.c.language.is_not(None), 1), else_=0
        )
        row = (
            await self._session.execute(
                select(queue)
                .where(
                    queue.c.channel == channel,
                    or_(
                        func.cardinality(queue.c.providers) == 0,
                        any_(queue.c.providers) == provider,
                    ),
                    or_(queue.c.language.is_(None), queue.c.language == language),
                )
                .order_by(queue.c.priority.desc(), specific.desc(), queue.c.name)
                .limit(1)
            )
        ).first()
        return _queue(row) if row is not None else None

    async def best_queues_for(
        self, targets: Sequence[tuple[str, str, str | None]]
    ) -> dict[tuple[str, str, str | None], Queue | None]:
        """:meth:`best_queue_for` of each (channel, provider, language), in one statement."""
        if not targets:
            return {}
        rows = await self._session.execute(
            _BEST_QUEUES,
            {
                "channels": [channel for channel, _, _ in targets],
                "providers": [provider for _, provider, _ in targets],
                "languages": [language for _, _, language in targets],
            },
        )
        best: dict[tuple[str, str, str | None], Queue | None] = dict.fromkeys(targets)
        for row in rows:
            values = dict(row._mapping)
            target = targets[values.pop("n") - 1]
            best[target] = Queue(**values)
        return best

    async def waiting_count(self, queue_id: uuid.UUID) -> int:
        count = await self._session.scalar(
            select(func.count()).where(
                conversation.c.queue_id == queue_id, conversation.c.status.in_(WAITING_STATUSES)
            )
        )
        return int(count or 0)

    async def overview(self, now: datetime) -> list[QueueLoad]:
        """Per queue: waiting, offered, assigned, and the longest current wait in seconds."""
        waiting = and_(
            conversation.c.queue_id == queue.c.id,
            conversation.c.status == ConversationStatus.QUEUED,
        )
        longest = select(func.min(conversation.c.queued_at)).where(waiting).scalar_subquery()
        counts = {
            status: select(func.count())
            .where(conversation.c.queue_id == queue.c.id, conversation.c.status == status)
            .scalar_subquery()
            for status in (
                ConversationStatus.QUEUED,
                ConversationStatus.OFFERED,
                ConversationStatus.ASSIGNED,
            )
        }
        rows = await self._session.execute(
            select(
                queue.c.name,
                queue.c.channel,
                counts[ConversationStatus.QUEUED].label("waiting"),
                counts[ConversationStatus.OFFERED].label("offered"),
                counts[ConversationStatus.ASSIGNED].label("assigned"),
                longest.label("oldest_queued_at"),
            ).order_by(queue.c.name)
        )
        return [
            QueueLoad(
                name=r.name,
                channel=r.channel,
                waiting=r.waiting,
                offered=r.offered,
                assigned=r.assigned,
                longest_wait_seconds=(
                    max(0.0, (now - r.oldest_queued_at).total_seconds())
                    if r.oldest_queued_at is not None
                    else 0.0
                ),
            )
            for r in rows
        ]

    async def unplaced_count(self) -> int:
        count = await self._session.scalar(
            select(func.count()).where(
                conversation.c.status == ConversationStatus.QUEUED,
                conversation.c.queue_id.is_(None),
            )
        )
        return int(count or 0)

    async def any_unplaced(self) -> bool:
        """Whether a conversation waits for a queue to take it."""
        statement = select(
            exists().where(
                conversation.c.status == ConversationStatus.QUEUED,
                conversation.c.queue_id.is_(None),
            )
        )
        return bool(await self._session.scalar(statement))

    async def servable_queues(self) -> list[Queue]:
        """Queues with at least one available agent who has their skills and room on the channel."""
        return [_queue(row) for row in await self._session.execute(_SERVABLE)]
