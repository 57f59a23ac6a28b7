"""Queries on conversations, their holders and their replies."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Uuid, bindparam, cast, func, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import contact, conversation, hold_change, offer, queue, reply

Row = dict[str, Any]

OPEN = ("queued", "offered", "assigned")
CLOSED = ("resolved", "abandoned")


def _with_queue() -> Select[Any]:
    return select(conversation, queue.c.name.label("queue_name")).outerjoin(
        queue, queue.c.id == conversation.c.queue_id
    )


def _locked(statement: Select[Any], *, skip_locked: bool = False) -> Select[Any]:
    return statement.with_for_update(of=conversation, skip_locked=skip_locked)


async def _one(session: AsyncSession, statement: Select[Any]) -> Row | None:
    row = (await session.execute(statement)).first()
    return dict(row._mapping) if row is not None else None


async def _all(session: AsyncSession, statement: Select[Any]) -> list[Row]:
    return [dict(r._mapping) for r in await session.execute(statement)]


async def lock_open_by_key(session: AsyncSession, key: str) -> Row | None:
    statement = _with_queue().where(
        conversation.c.conversation_key == key, conversation.c.status.in_(OPEN)
    )
    return await _one(session, _locked(statement))


async def lock_open_by_keys(session: AsyncSession, keys: list[str]) -> list[Row]:
    """The open conversations of ``keys``, locked in id order (as every batch locks them)."""
    statement = (
        _with_queue()
        .where(conversation.c.conversation_key.in_(keys), conversation.c.status.in_(OPEN))
        .order_by(conversation.c.id)
    )
    return await _all(session, _locked(statement))


async def lock_latest_closed_by_key(session: AsyncSession, key: str) -> Row | None:
    statement = (
        _with_queue()
        .where(conversation.c.conversation_key == key, conversation.c.status.in_(CLOSED))
        .order_by(conversation.c.resolved_at.desc().nulls_last())
        .limit(1)
    )
    return await _one(session, _locked(statement))


async def lock_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, *, skip_locked: bool = False
) -> Row | None:
    statement = _with_queue().where(conversation.c.id == conversation_id)
    return await _one(session, _locked(statement, skip_locked=skip_locked))


async def lock_many(session: AsyncSession, ids: list[uuid.UUID]) -> list[Row]:
    """Lock conversations in id order, the one order every multi-row lock follows."""
    statement = _with_queue().where(conversation.c.id.in_(ids)).order_by(conversation.c.id)
    return await _all(session, _locked(statement))


async def get_conversation(session: AsyncSession, conversation_id: uuid.UUID) -> Row | None:
    return await _one(session, _with_queue().where(conversation.c.id == conversation_id))


async def held_by(session: AsyncSession, agent_id: uuid.UUID) -> list[Row]:
    statement = (
        _with_queue()
        .where(conversation.c.agent_id == agent_id)
        .order_by(conversation.c.queued_at, conversation.c.id)
    )
    return await _all(session, statement)


async def insert_conversation(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert an open conversation; False when its key already has one open."""
    inserted = (
        await session.execute(
            insert(conversation)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=[conversation.c.conversation_key],
                # A literal predicate: with bound parameters Postgres cannot match the partial
                # index once asyncpg's prepared statement switches to a generic plan.
                index_where=text("status IN ('queued', 'offered', 'assigned')"),
            )
            .returning(conversation.c.id)
        )
    ).scalar()
    return inserted is not None


async def update_conversation(
    session: AsyncSession, conversation_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(
        update(conversation).where(conversation.c.id == conversation_id).values(**values)
    )


async def update_conversations(session: AsyncSession, rows: list[Row]) -> None:
    """Set the same columns of several conversations, each row ``{"id": ..., column: value}``,
    in one statement."""
    if not rows:
        return
    columns = [name for name in rows[0] if name != "id"]
    statement = (
        update(conversation)
        .where(conversation.c.id == bindparam("_id"))
        .values({name: bindparam(f"_{name}") for name in columns})
    )
    await session.execute(
        statement, [{f"_{name}": value for name, value in row.items()} for row in rows]
    )


async def record_hold(
    session: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    agent_id: uuid.UUID,
    channel: str,
    delta: int,
    at: datetime,
) -> None:
    """Audit one change of holder; the caller holds both row locks."""
    await session.execute(
        insert(hold_change).values(
            agent_id=agent_id, conversation_id=conversation_id, channel=channel, delta=delta, at=at
        )
    )


async def lock_waiting(session: AsyncSession, queue_ids: list[uuid.UUID], limit: int) -> list[Row]:
    """Queued conversations of ``queue_ids`` in queue order, skipping those another
    instance is routing; each with its contact's last agent (``last_agent_id``,
    ``last_agent_at``) and the agents already offered it this cycle (``tried``)."""
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
            conversation.c.status == "queued",
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
    return await _all(session, _locked(statement, skip_locked=True))


async def lock_unplaced_for(session: AsyncSession, queue_row: Row, limit: int) -> list[Row]:
    """Conversations waiting for a queue that ``queue_row`` would select."""
    providers = queue_row["providers"]
    statement = (
        _with_queue()
        .where(
            conversation.c.status == "queued",
            conversation.c.queue_id.is_(None),
            conversation.c.channel == queue_row["channel"],
            conversation.c.provider.in_(providers) if providers else true(),
            conversation.c.language == queue_row["language"] if queue_row["language"] else true(),
        )
        .order_by(conversation.c.opened_at, conversation.c.id)
        .limit(limit)
    )
    return await _all(session, _locked(statement, skip_locked=True))


async def lock_overflowing(session: AsyncSession, now: datetime, limit: int) -> list[Row]:
    statement = (
        _with_queue()
        .where(
            conversation.c.status == "queued",
            conversation.c.overflow_at <= now,
            conversation.c.optional_skills_dropped.is_(False),
        )
        .order_by(conversation.c.overflow_at)
        .limit(limit)
    )
    return await _all(session, _locked(statement, skip_locked=True))


async def lock_reply_overdue(session: AsyncSession, now: datetime, limit: int) -> list[Row]:
    statement = (
        _with_queue()
        .where(conversation.c.status == "assigned", conversation.c.reply_due_at <= now)
        .order_by(conversation.c.reply_due_at)
        .limit(limit)
    )
    return await _all(session, _locked(statement, skip_locked=True))


async def insert_reply(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Record an agent's reply; False when that reply id was already recorded."""
    inserted = (
        await session.execute(
            insert(reply).values(**values).on_conflict_do_nothing().returning(reply.c.id)
        )
    ).scalar()
    return inserted is not None


#: Offer conversations to agents in one statement: the offers, the hold audit (the caller
#: holds every row lock) and the conversations' new holder.
_OFFER_MANY = text(
    """
    WITH chosen AS (
        SELECT * FROM unnest(
            CAST(:offer_ids AS uuid[]), CAST(:conversation_ids AS uuid[]),
            CAST(:agent_ids AS uuid[]), CAST(:queue_ids AS uuid[]), CAST(:channels AS text[])
        ) AS c(offer_id, conversation_id, agent_id, queue_id, channel)
    ), holds AS (
        INSERT INTO routing.hold_change (agent_id, conversation_id, channel, delta, at)
        SELECT agent_id, conversation_id, channel, 1, :at FROM chosen
    ), offers AS (
        INSERT INTO routing.offer
            (id, conversation_id, agent_id, queue_id, state, offered_at, expires_at)
        SELECT offer_id, conversation_id, agent_id, queue_id, 'pending', :at, :expires_at
        FROM chosen
    )
    UPDATE routing.conversation AS c SET status = 'offered', agent_id = chosen.agent_id
    FROM chosen WHERE c.id = chosen.conversation_id
    """
)


async def offer_many(
    session: AsyncSession, rows: list[Row], *, at: datetime, expires_at: datetime
) -> None:
    """Pending offers (offer_id, conversation_id, agent_id, queue_id, channel each)."""
    if not rows:
        return
    await session.execute(
        _OFFER_MANY,
        {
            "offer_ids": [r["offer_id"] for r in rows],
            "conversation_ids": [r["conversation_id"] for r in rows],
            "agent_ids": [r["agent_id"] for r in rows],
            "queue_ids": [r["queue_id"] for r in rows],
            "channels": [r["channel"] for r in rows],
            "at": at,
            "expires_at": expires_at,
        },
    )


async def keys_with_conversations(session: AsyncSession, keys: list[str]) -> set[str]:
    """Those of ``keys`` that have had a conversation, open or closed."""
    if not keys:
        return set()
    rows = await session.execute(
        select(conversation.c.conversation_key)
        .where(conversation.c.conversation_key.in_(keys))
        .distinct()
    )
    return set(rows.scalars())


#: Columns a new conversation may leave unset, so every row of a bulk insert has them all.
_UNSET = {"queue_id": None, "queued_at": None, "sla_deadline": None, "overflow_at": None}


async def insert_conversations(session: AsyncSession, rows: list[Row]) -> set[uuid.UUID]:
    """:func:`insert_conversation` for several; the ids of those inserted."""
    if not rows:
        return set()
    columns = set(conversation.c.keys())
    values = [{**_UNSET, **{k: v for k, v in row.items() if k in columns}} for row in rows]
    inserted = await session.execute(
        insert(conversation)
        .on_conflict_do_nothing(
            index_elements=[conversation.c.conversation_key],
            index_where=text("status IN ('queued', 'offered', 'assigned')"),
        )
        .returning(conversation.c.id),
        values,
    )
    return set(inserted.scalars())
