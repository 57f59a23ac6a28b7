"""Every query of the chat connector."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat.models import chat_message, chat_session, slack_event


async def create_session(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(chat_session).values(**values))


async def session_by_token(session: AsyncSession, token_sha256: str) -> dict[str, Any] | None:
    row = (
        await session.execute(
            select(chat_session).where(chat_session.c.token_sha256 == token_sha256)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def session_by_key(session: AsyncSession, conversation_key: str) -> dict[str, Any] | None:
    row = (
        await session.execute(
            select(chat_session).where(chat_session.c.conversation_key == conversation_key)
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def touch(session: AsyncSession, session_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(chat_session).where(chat_session.c.id == session_id).values(last_activity_at=at)
    )


async def add_message(session: AsyncSession, **values: Any) -> int | None:
    """Store a message; its id, or None when that event id is already stored."""
    message_id: int | None = (
        await session.execute(
            insert(chat_message)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[chat_message.c.event_id])
            .returning(chat_message.c.id)
        )
    ).scalar()
    return message_id


async def messages_after(
    session: AsyncSession, session_id: uuid.UUID, after: int, limit: int
) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(chat_message)
        .where(chat_message.c.session_id == session_id, chat_message.c.id > after)
        .order_by(chat_message.c.id)
        .limit(limit)
    )
    return [dict(row._mapping) for row in rows]


async def mark_agent_replied(session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.execute(
        update(chat_session).where(chat_session.c.id == session_id).values(agent_replied=True)
    )


async def close(session: AsyncSession, session_id: uuid.UUID, at: datetime) -> bool | None:
    """Close an open session: whether an agent had replied, or None when it was closed already.

    The answer comes from the row as the UPDATE locked it, so a reply committed
    just before the close is seen.
    """
    closed = await session.execute(
        update(chat_session)
        .where(chat_session.c.id == session_id, chat_session.c.closed_at.is_(None))
        .values(closed_at=at)
        .returning(chat_session.c.agent_replied)
    )
    row = closed.first()
    return None if row is None else bool(row.agent_replied)


async def idle_sessions(session: AsyncSession, silent_since: datetime) -> list[dict[str, Any]]:
    """Open sessions with no activity since ``silent_since``, locked for closing."""
    rows = await session.execute(
        select(chat_session)
        .where(chat_session.c.closed_at.is_(None), chat_session.c.last_activity_at < silent_since)
        .order_by(chat_session.c.last_activity_at)
        .limit(500)
        .with_for_update(skip_locked=True)
    )
    return [dict(row._mapping) for row in rows]


async def claim_slack_event(session: AsyncSession, event_id: str, at: datetime) -> bool:
    """Record a Slack event id; False when it was seen before (a Slack retry)."""
    claimed = await session.execute(
        insert(slack_event)
        .values(event_id=event_id, received_at=at)
        .on_conflict_do_nothing()
        .returning(slack_event.c.event_id)
    )
    return claimed.first() is not None
