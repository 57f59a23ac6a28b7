"""Queries on the label list and on the labels conversations carry."""

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import Label
from services.routing.models import conversation_label, label


class LabelRepository:
    """Labels, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, *, name: str, description: str | None, at: datetime) -> Label | None:
        """A new label; None when the name is taken."""
        row = (
            await self._session.execute(
                upsert(label)
                .values(name=name, description=description, created_at=at)
                .on_conflict_do_nothing()
                .returning(*label.c)
            )
        ).first()
        return Label(**row._mapping) if row is not None else None

    async def get(self, name: str) -> Label | None:
        row = (await self._session.execute(select(label).where(label.c.name == name))).first()
        return Label(**row._mapping) if row is not None else None

    async def named(self, names: Iterable[str]) -> dict[str, Label]:
        rows = await self._session.execute(select(label).where(label.c.name.in_(sorted(names))))
        return {r.name: Label(**r._mapping) for r in rows}

    async def list_all(self, *, retired: bool = True) -> list[Label]:
        statement = select(label).order_by(label.c.name)
        if not retired:
            statement = statement.where(label.c.retired_at.is_(None))
        return [Label(**r._mapping) for r in await self._session.execute(statement)]

    async def update(self, name: str, **changes: Any) -> Label | None:
        row = (
            await self._session.execute(
                update(label).where(label.c.name == name).values(**changes).returning(*label.c)
            )
        ).first()
        return Label(**row._mapping) if row is not None else None

    async def in_use(self, name: str) -> bool:
        found = await self._session.scalar(
            select(exists().where(conversation_label.c.label == name))
        )
        return bool(found)

    async def delete(self, name: str) -> None:
        await self._session.execute(delete(label).where(label.c.name == name))

    async def of_conversation(self, conversation_id: uuid.UUID) -> list[str]:
        rows = await self._session.scalars(
            select(conversation_label.c.label)
            .where(conversation_label.c.conversation_id == conversation_id)
            .order_by(conversation_label.c.label)
        )
        return list(rows)

    async def of_conversations(self, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
        rows = await self._session.execute(
            select(conversation_label.c.conversation_id, conversation_label.c.label)
            .where(conversation_label.c.conversation_id.in_(list(ids)))
            .order_by(conversation_label.c.conversation_id, conversation_label.c.label)
        )
        found: dict[uuid.UUID, list[str]] = defaultdict(list)
        for conversation_id, name in rows:
            found[conversation_id].append(name)
        return found

    async def set_for(
        self,
        conversation_id: uuid.UUID,
        *,
        removed: Iterable[str],
        added: Iterable[str],
        by: uuid.UUID | None,
        at: datetime,
    ) -> None:
        """Take ``removed`` off the conversation and put ``added`` on it."""
        gone = sorted(removed)
        if gone:
            await self._session.execute(
                delete(conversation_label).where(
                    conversation_label.c.conversation_id == conversation_id,
                    conversation_label.c.label.in_(gone),
                )
            )
        new = sorted(added)
        if new:
            await self._session.execute(
                insert(conversation_label),
                [
                    {
                        "conversation_id": conversation_id,
                        "label": name,
                        "labeled_at": at,
                        "labeled_by": by,
                    }
                    for name in new
                ],
            )
