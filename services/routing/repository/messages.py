"""Queries on transcripts: the messages of conversations and their delivery statuses."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import (
    OPEN_STATUSES,
    Author,
    DeliveryStatus,
    Message,
)
from services.routing.models import conversation, message
from shared.events import Direction

#: The fields of :class:`Message` written on insert (``seq`` is the database's).
_COLUMNS = [f.name for f in fields(Message) if f.name != "seq"]


def _message(row: Row[Any]) -> Message:
    return Message(**row._mapping)


@dataclass(frozen=True)
class KeyHolder:
    """The conversation a key's messages belong to, and the agent who holds it."""

    conversation_id: uuid.UUID
    agent_id: uuid.UUID | None


@dataclass(frozen=True)
class LastWord:
    """The customer's last message in a conversation: its provider id and when it came."""

    raw_ref: str | None
    at: datetime


class MessageRepository:
    """Transcripts, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def conversations_of_keys(self, keys: Sequence[str]) -> dict[str, KeyHolder]:
        """Each key's open conversation, else its latest one (keys never seen are absent)."""
        if not keys:
            return {}
        is_open = conversation.c.status.in_(OPEN_STATUSES)
        rows = await self._session.execute(
            select(conversation.c.conversation_key, conversation.c.id, conversation.c.agent_id)
            .where(conversation.c.conversation_key.in_(list(keys)))
            .ext(distinct_on(conversation.c.conversation_key))
            .order_by(
                conversation.c.conversation_key, is_open.desc(), conversation.c.opened_at.desc()
            )
        )
        return {key: KeyHolder(id_, agent_id) for key, id_, agent_id in rows.all()}

    async def add_many(self, new: Sequence[Message]) -> list[Message]:
        """Store messages in one statement, each once (by id); those stored, with their seq."""
        if not new:
            return []
        statement = insert(message).on_conflict_do_nothing().returning(message.c.id, message.c.seq)
        rows = await self._session.execute(
            statement, [{name: getattr(m, name) for name in _COLUMNS} for m in new]
        )
        seqs = {id_: seq for id_, seq in rows.all()}
        stored = []
        for m in new:
            if m.id in seqs:
                m.seq = seqs[m.id]
                stored.append(m)
        return stored

    async def page(self, conversation_id: uuid.UUID, *, after: int, limit: int) -> list[Message]:
        """Up to ``limit`` messages of the conversation after cursor ``after``, oldest first."""
        rows = await self._session.execute(
            select(message)
            .where(message.c.conversation_id == conversation_id, message.c.seq > after)
            .order_by(message.c.seq)
            .limit(limit)
        )
        return [_message(r) for r in rows]

    async def customer_last_word(self, conversation_id: uuid.UUID) -> LastWord | None:
        row = (
            await self._session.execute(
                select(message.c.raw_ref, message.c.at)
                .where(
                    message.c.conversation_id == conversation_id,
                    message.c.author == Author.CUSTOMER,
                )
                .order_by(message.c.seq.desc())
                .limit(1)
            )
        ).first()
        return LastWord(raw_ref=row.raw_ref, at=row.at) if row is not None else None

    async def lock_outbound(
        self, *, event_id: uuid.UUID | None, conversation_key: str, raw_ref: str | None
    ) -> Message | None:
        """The outbound message a status reports on, locked: by the event id of its
        message.sent, else by the provider's message id within the conversation key."""
        outbound = message.c.direction == Direction.OUTBOUND
        if event_id is not None:
            found = await self._one_locked(
                select(message).where(outbound, message.c.event_id == event_id)
            )
            if found is not None:
                return found
        if raw_ref is None:
            return None
        return await self._one_locked(
            select(message)
            .where(
                outbound,
                message.c.conversation_key == conversation_key,
                message.c.raw_ref == raw_ref,
            )
            .order_by(message.c.seq.desc())
            .limit(1)
        )

    async def _one_locked(self, statement: Any) -> Message | None:
        row = (await self._session.execute(statement.with_for_update())).first()
        return _message(row) if row is not None else None

    async def set_status(
        self,
        message_id: uuid.UUID,
        *,
        status: DeliveryStatus,
        reason: str | None,
        at: datetime,
    ) -> None:
        await self._session.execute(
            update(message)
            .where(message.c.id == message_id)
            .values(status=status, status_reason=reason, status_at=at)
        )

    async def learn_raw_ref(self, message_id: uuid.UUID, raw_ref: str) -> None:
        """Remember the provider's id of a reply, so receipts that carry only it match."""
        await self._session.execute(
            update(message)
            .where(message.c.id == message_id, message.c.raw_ref.is_(None))
            .values(raw_ref=raw_ref)
        )
