"""Queries on conversations, their holders and their replies."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Unpack

from sqlalchemy import Row, Select, Uuid, bindparam, cast, func, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Conversation,
    ConversationChanges,
    ConversationStatus,
    OfferState,
    Queue,
    WaitingConversation,
)
from services.routing.models import (
    OPEN_PREDICATE,
    contact,
    conversation,
    hold_change,
    offer,
    queue,
    reply,
)

#: The fields of :class:`Conversation` that are columns of its table.
_COLUMNS = [f.name for f in fields(Conversation) if f.name in conversation.c]


def _with_queue() -> Select[Any]:
    return select(conversation, queue.c.name.label("queue_name")).outerjoin(
        queue, queue.c.id == conversation.c.queue_id
    )


def _locked(statement: Select[Any], *, skip_locked: bool = False) -> Select[Any]:
    return statement.with_for_update(of=conversation, skip_locked=skip_locked)


def _conversation(row: Row[Any]) -> Conversation:
    return Conversation(**row._mapping)


def _values(new: Conversation) -> dict[str, object]:
    return {name: getattr(new, name) for name in _COLUMNS}


@dataclass(frozen=True)
class NewOffer:
    """One offer of :meth:`ConversationRepository.offer_many`."""

    offer_id: uuid.UUID
    conversation_id: uuid.UUID
    agent_id: uuid.UUID
    queue_id: uuid.UUID | None
    channel: str
    expires_at: datetime


#: Offer conversations to agents in one statement: the offers, the hold audit (the caller
#: holds every row lock) and the conversations' new holder.
_OFFER_MANY = text(
    f"""
    WITH chosen AS (
        SELECT * FROM unnest(
            CAST(:offer_ids AS uuid[]), CAST(:conversation_ids AS uuid[]),
            CAST(:agent_ids AS uuid[]), CAST(:queue_ids AS uuid[]), CAST(:channels AS text[]),
            CAST(:expires_at AS timestamptz[])
        ) AS c(offer_id, conversation_id, agent_id, queue_id, channel, expires_at)
    ), holds AS (
        INSERT INTO routing.hold_change (agent_id, conversation_id, channel, delta, at)
        SELECT agent_id, conversation_id, channel, 1, :at FROM chosen
    ), offers AS (
        INSERT INTO routing.offer
            (id, conversation_id, agent_id, queue_id, state, offered_at, expires_at)
        SELECT offer_id, conversation_id, agent_id, queue_id, '{OfferState.PENDING}', :at,
            expires_at
        FROM chosen
    )
    UPDATE routing.conversation AS c
    SET status = '{ConversationStatus.OFFERED}', agent_id = chosen.agent_id
    FROM chosen WHERE c.id = chosen.conversation_id
    """  # noqa: S608 (only enum members are formatted in)
)


class ConversationRepository:
    """Conversations, their holders and their replies, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def _one(self, statement: Select[Any]) -> Conversation | None:
        row = (await self._session.execute(statement)).first()
        return _conversation(row) if row is not None else None

    async def _all(self, statement: Select[Any]) -> list[Conversation]:
        return [_conversation(r) for r in await self._session.execute(statement)]

    async def lock_open_by_key(self, key: str) -> Conversation | None:
        statement = _with_queue().where(
            conversation.c.conversation_key == key, conversation.c.status.in_(OPEN_STATUSES)
        )
        return await self._one(_locked(statement))

    async def lock_open_by_keys(self, keys: list[str]) -> list[Conversation]:
        """The open conversations of ``keys``, locked in id order (as every batch locks them)."""
        statement = (
            _with_queue()
            .where(
                conversation.c.conversation_key.in_(keys), conversation.c.status.in_(OPEN_STATUSES)
            )
            .order_by(conversation.c.id)
        )
        return await self._all(_locked(statement))

    async def lock_latest_closed_by_key(self, key: str) -> Conversation | None:
        statement = (
            _with_queue()
            .where(
                conversation.c.conversation_key == key, conversation.c.status.in_(CLOSED_STATUSES)
            )
            .order_by(conversation.c.resolved_at.desc().nulls_last())
            .limit(1)
        )
        return await self._one(_locked(statement))

    async def get(self, conversation_id: uuid.UUID) -> Conversation | None:
        return await self._one(_with_queue().where(conversation.c.id == conversation_id))

    async def lock(
        self, conversation_id: uuid.UUID, *, skip_locked: bool = False
    ) -> Conversation | None:
        statement = _with_queue().where(conversation.c.id == conversation_id)
        return await self._one(_locked(statement, skip_locked=skip_locked))

    async def lock_many(self, ids: list[uuid.UUID]) -> list[Conversation]:
        """Lock conversations in id order, the one order every multi-row lock follows."""
        statement = _with_queue().where(conversation.c.id.in_(ids)).order_by(conversation.c.id)
        return await self._all(_locked(statement))

    async def held_by(self, agent_id: uuid.UUID) -> list[Conversation]:
        statement = (
            _with_queue()
            .where(conversation.c.agent_id == agent_id)
            .order_by(conversation.c.queued_at, conversation.c.id)
        )
        return await self._all(statement)

    async def add(self, new: Conversation) -> bool:
        """Insert an open conversation; False when its key already has one open."""
        inserted = (
            await self._session.execute(
                insert(conversation)
                .values(**_values(new))
                .on_conflict_do_nothing(
                    index_elements=[conversation.c.conversation_key],
                    index_where=text(OPEN_PREDICATE),
                )
                .returning(conversation.c.id)
            )
        ).scalar()
        return inserted is not None

    async def add_many(self, new: Sequence[Conversation]) -> set[uuid.UUID]:
        """:meth:`add` for several; the ids of those inserted."""
        if not new:
            return set()
        inserted = await self._session.execute(
            insert(conversation)
            .on_conflict_do_nothing(
                index_elements=[conversation.c.conversation_key],
                index_where=text(OPEN_PREDICATE),
            )
            .returning(conversation.c.id),
            [_values(c) for c in new],
        )
        return set(inserted.scalars())

    async def update(self, current: Conversation, **changes: Unpack[ConversationChanges]) -> None:
        """Write ``changes`` to the conversation, and take them into ``current``."""
        await self._session.execute(
            update(conversation).where(conversation.c.id == current.id).values(**changes)
        )
        current.apply(changes)

    async def save_inbound(self, counted: Sequence[Conversation]) -> None:
        """Write the inbound counts, last inbound times and reply deadlines of several
        conversations in one statement."""
        if not counted:
            return
        statement = (
            update(conversation)
            .where(conversation.c.id == bindparam("_id"))
            .values(
                inbound_count=bindparam("_inbound_count"),
                last_inbound_at=bindparam("_last_inbound_at"),
                reply_due_at=bindparam("_reply_due_at"),
            )
        )
        await self._session.execute(
            statement,
            [
                {
                    "_id": c.id,
                    "_inbound_count": c.inbound_count,
                    "_last_inbound_at": c.last_inbound_at,
                    "_reply_due_at": c.reply_due_at,
                }
                for c in counted
            ],
        )

    async def record_hold(
        self,
        *,
        conversation_id: uuid.UUID,
        agent_id: uuid.UUID,
        channel: str,
        delta: int,
        at: datetime,
    ) -> None:
        """Audit one change of holder; the caller holds both row locks."""
        await self._session.execute(
            insert(hold_change).values(
                agent_id=agent_id,
                conversation_id=conversation_id,
                channel=channel,
                delta=delta,
                at=at,
            )
        )

    async def lock_waiting(
        self, queue_ids: list[uuid.UUID], limit: int
    ) -> list[WaitingConversation]:
        """Queued conversations of ``queue_ids`` in queue order, skipping those another
        instance is routing; each with its contact's last agent and the agents already
        offered it this cycle."""
        tried = (
            select(func.coalesce(func.array_agg(offer.c.agent_id), cast([], ARRAY(Uuid))))
            .where(
                offer.c.conversation_id == conversation.c.id,
                offer.c.offered_at >= conversation.c.cycle_started_at,
            )
            .scalar_subquery()
        )
        statement = (
            select(
                conversation,
                queue.c.name.label("queue_name"),
                contact.c.last_agent_id.label("contact_last_agent_id"),
                contact.c.last_agent_at.label("contact_last_agent_at"),
                tried.label("tried"),
            )
            .outerjoin(queue, queue.c.id == conversation.c.queue_id)
            .outerjoin(contact, contact.c.id == conversation.c.contact_id)
            .where(
                conversation.c.status == ConversationStatus.QUEUED,
                conversation.c.queue_id.in_(queue_ids),
                conversation.c.agent_id.is_(None),
            )
            .order_by(
                conversation.c.priority.desc(),
                conversation.c.sla_deadline,
                conversation.c.queued_at,
                conversation.c.id,
            )
            .limit(limit)
        )
        waiting = []
        for row in await self._session.execute(_locked(statement, skip_locked=True)):
            values = dict(row._mapping)
            waiting.append(
                WaitingConversation(
                    contact_last_agent_id=values.pop("contact_last_agent_id"),
                    contact_last_agent_at=values.pop("contact_last_agent_at"),
                    tried=values.pop("tried"),
                    conversation=Conversation(**values),
                )
            )
        return waiting

    async def lock_unplaced_for(self, target: Queue, limit: int) -> list[Conversation]:
        """Conversations waiting for a queue that ``target`` would select."""
        providers = target.providers
        statement = (
            _with_queue()
            .where(
                conversation.c.status == ConversationStatus.QUEUED,
                conversation.c.queue_id.is_(None),
                conversation.c.channel == target.channel,
                conversation.c.provider.in_(providers) if providers else true(),
                conversation.c.language == target.language if target.language else true(),
            )
            .order_by(conversation.c.opened_at, conversation.c.id)
            .limit(limit)
        )
        return await self._all(_locked(statement, skip_locked=True))

    async def lock_overflowing(self, now: datetime, limit: int) -> list[Conversation]:
        statement = (
            _with_queue()
            .where(
                conversation.c.status == ConversationStatus.QUEUED,
                conversation.c.overflow_at <= now,
                conversation.c.optional_skills_dropped.is_(False),
            )
            .order_by(conversation.c.overflow_at)
            .limit(limit)
        )
        return await self._all(_locked(statement, skip_locked=True))

    async def lock_reply_overdue(self, now: datetime, limit: int) -> list[Conversation]:
        statement = (
            _with_queue()
            .where(
                conversation.c.status == ConversationStatus.ASSIGNED,
                conversation.c.reply_due_at <= now,
            )
            .order_by(conversation.c.reply_due_at)
            .limit(limit)
        )
        return await self._all(_locked(statement, skip_locked=True))

    async def add_reply(
        self,
        *,
        reply_id: uuid.UUID,
        conversation_id: uuid.UUID,
        agent_id: uuid.UUID,
        text: str,
        sent_at: datetime,
    ) -> bool:
        """Record an agent's reply; False when that reply id was already recorded."""
        inserted = (
            await self._session.execute(
                insert(reply)
                .values(
                    id=reply_id,
                    conversation_id=conversation_id,
                    agent_id=agent_id,
                    text=text,
                    sent_at=sent_at,
                )
                .on_conflict_do_nothing()
                .returning(reply.c.id)
            )
        ).scalar()
        return inserted is not None

    async def offer_many(self, new: Sequence[NewOffer], *, at: datetime) -> None:
        """Pending offers (each with its own expiry, whatever its queue), with the hold audit
        and the conversations' new holder."""
        if not new:
            return
        await self._session.execute(
            _OFFER_MANY,
            {
                "offer_ids": [o.offer_id for o in new],
                "conversation_ids": [o.conversation_id for o in new],
                "agent_ids": [o.agent_id for o in new],
                "queue_ids": [o.queue_id for o in new],
                "channels": [o.channel for o in new],
                "expires_at": [o.expires_at for o in new],
                "at": at,
            },
        )

    async def keys_with_conversations(self, keys: list[str]) -> set[str]:
        """Those of ``keys`` that have had a conversation, open or closed."""
        if not keys:
            return set()
        rows = await self._session.execute(
            select(conversation.c.conversation_key)
            .where(conversation.c.conversation_key.in_(keys))
            .distinct()
        )
        return set(rows.scalars())
