"""SQL of the email connector."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.email.models import delivery, mailgun_token, thread_message
from shared.events import InteractionEvent
from shared.outbound import DeliveryState


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a conversation as a reply needs it; ``ours`` for an agent's reply."""

    message_id: str
    subject: str | None
    recipient: str | None
    ours: bool


async def claim_mailgun_token(
    session: AsyncSession, *, token: str, signed_at: datetime, seen_at: datetime, form_sha256: str
) -> bool:
    """Record ``token`` with its form's digest; False when it was recorded with another form
    (or before digests were kept): a replay. The same form again is the provider's retry."""
    statement = (
        insert(mailgun_token)
        .values(token=token, signed_at=signed_at, seen_at=seen_at, form_sha256=form_sha256)
        .on_conflict_do_nothing()
        .returning(mailgun_token.c.token)
    )
    if (await session.execute(statement)).first() is not None:
        return True
    recorded = await session.execute(
        select(mailgun_token.c.form_sha256).where(mailgun_token.c.token == token)
    )
    return recorded.scalar_one_or_none() == form_sha256


async def forget_mailgun_tokens_before(session: AsyncSession, signed_before: datetime) -> None:
    """Drop tokens whose timestamps are too old to pass the freshness check anyway."""
    await session.execute(delete(mailgun_token).where(mailgun_token.c.signed_at < signed_before))


async def conversations_of(session: AsyncSession, message_ids: list[str]) -> dict[str, str]:
    """The conversation keys of those ``message_ids`` already published."""
    if not message_ids:
        return {}
    statement = select(thread_message.c.message_id, thread_message.c.conversation_key).where(
        thread_message.c.message_id.in_(message_ids)
    )
    return {row.message_id: row.conversation_key for row in await session.execute(statement)}


async def remember_message(
    session: AsyncSession,
    *,
    message_id: str,
    conversation_key: str,
    seen_at: datetime,
    subject: str | None = None,
    recipient: str | None = None,
    reply_event_id: uuid.UUID | None = None,
) -> None:
    """Record a published or sent message's conversation (the first record of an id wins)."""
    statement = (
        insert(thread_message)
        .values(
            message_id=message_id,
            conversation_key=conversation_key,
            seen_at=seen_at,
            subject=subject,
            recipient=recipient,
            reply_event_id=reply_event_id,
        )
        .on_conflict_do_nothing()
    )
    await session.execute(statement)


async def latest_of_thread(
    session: AsyncSession, conversation_key: str, *, limit: int = 50
) -> list[ThreadMessage]:
    """The conversation's latest ``limit`` messages, oldest first."""
    statement = (
        select(
            thread_message.c.message_id,
            thread_message.c.subject,
            thread_message.c.recipient,
            thread_message.c.reply_event_id,
        )
        .where(thread_message.c.conversation_key == conversation_key)
        .order_by(thread_message.c.seen_at.desc(), thread_message.c.message_id.desc())
        .limit(limit)
    )
    rows = (await session.execute(statement)).all()
    return [
        ThreadMessage(
            message_id=row.message_id,
            subject=row.subject,
            recipient=row.recipient,
            ours=row.reply_event_id is not None,
        )
        for row in reversed(rows)
    ]


async def reply_sent_as(session: AsyncSession, message_id: str) -> InteractionEvent | None:
    """The agent's reply (its message.sent) that left with ``message_id``, if one did."""
    statement = (
        select(delivery.c.event)
        .join(thread_message, thread_message.c.reply_event_id == delivery.c.event_id)
        .where(thread_message.c.message_id == message_id)
    )
    event = (await session.execute(statement)).scalar_one_or_none()
    return InteractionEvent.from_json(event) if event is not None else None


async def mark_bounced(
    session: AsyncSession, event_id: uuid.UUID, *, reason: str, at: datetime
) -> None:
    """A sent reply came back as undeliverable: its delivery ends failed with the reason."""
    await session.execute(
        update(delivery)
        .where(delivery.c.event_id == event_id)
        .values(state=DeliveryState.FAILED, last_error=reason, settled_at=at)
    )
