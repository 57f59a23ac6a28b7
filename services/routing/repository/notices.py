"""Queries on agent notices: what each agent's live stream was told, for a while."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import agent_notice

#: A notice as its stream carries it: its id (the cursor), agent id, type and fields.
Notice = dict[str, str]


class NoticeRepository:
    """Agent notices, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_many(self, notices: Sequence[Notice], *, at: datetime) -> list[Notice]:
        """Keep notices (``agent_id``, ``type`` and their fields) in one statement; each
        with its ``id``, in the order given."""
        rows = await self._session.execute(
            insert(agent_notice).returning(agent_notice.c.seq, sort_by_parameter_order=True),
            [
                {
                    "agent_id": uuid.UUID(n["agent_id"]),
                    "type": n["type"],
                    "data": {k: v for k, v in n.items() if k not in ("agent_id", "type")},
                    "created_at": at,
                }
                for n in notices
            ],
        )
        return [{"id": str(seq), **n} for seq, n in zip(rows.scalars(), notices, strict=True)]

    async def after(self, agent_id: uuid.UUID, seq: int, *, limit: int) -> list[Notice]:
        """The agent's notices after ``seq`` still kept, oldest first."""
        rows = await self._session.execute(
            select(agent_notice)
            .where(agent_notice.c.agent_id == agent_id, agent_notice.c.seq > seq)
            .order_by(agent_notice.c.seq)
            .limit(limit)
        )
        return [
            {"id": str(r.seq), "agent_id": str(r.agent_id), "type": r.type, **r.data} for r in rows
        ]

    async def forget_before(self, at: datetime) -> int:
        """Delete notices older than ``at``; how many."""
        deleted = await self._session.execute(
            delete(agent_notice).where(agent_notice.c.created_at < at).returning(agent_notice.c.seq)
        )
        return len(deleted.all())
