"""Queries on canned responses."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.console.domain import CannedResponse
from services.routing.models import canned_response, queue

_COLUMNS = (*canned_response.c, queue.c.name.label("queue"))


def _canned(row: Row[Any]) -> CannedResponse:
    return CannedResponse(**row._mapping)


def _with_queue() -> Any:
    return select(*_COLUMNS).select_from(
        canned_response.outerjoin(queue, queue.c.id == canned_response.c.queue_id)
    )


class CannedRepository:
    """Canned responses, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self, *, id: uuid.UUID, queue_id: uuid.UUID | None, shortcut: str, text: str, at: datetime
    ) -> None:
        await self._session.execute(
            insert(canned_response).values(
                id=id, queue_id=queue_id, shortcut=shortcut, text=text, created_at=at, updated_at=at
            )
        )

    async def get(self, canned_id: uuid.UUID) -> CannedResponse | None:
        row = (
            await self._session.execute(_with_queue().where(canned_response.c.id == canned_id))
        ).first()
        return _canned(row) if row is not None else None

    async def list_all(self, *, queue_id: uuid.UUID | None = None) -> list[CannedResponse]:
        """Every canned response, or those of one queue and those of any queue."""
        statement = _with_queue().order_by(canned_response.c.shortcut, canned_response.c.id)
        if queue_id is not None:
            statement = statement.where(
                or_(canned_response.c.queue_id == queue_id, canned_response.c.queue_id.is_(None))
            )
        return [_canned(r) for r in await self._session.execute(statement)]

    async def update(self, canned_id: uuid.UUID, *, at: datetime, **changes: Any) -> bool:
        changed = await self._session.scalar(
            update(canned_response)
            .where(canned_response.c.id == canned_id)
            .values(updated_at=at, **changes)
            .returning(canned_response.c.id)
        )
        return changed is not None

    async def delete(self, canned_id: uuid.UUID) -> bool:
        deleted = await self._session.scalar(
            delete(canned_response)
            .where(canned_response.c.id == canned_id)
            .returning(canned_response.c.id)
        )
        return deleted is not None
