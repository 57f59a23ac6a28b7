"""SQL of the email connector."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.email.models import mailgun_token, thread_message


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
    session: AsyncSession, *, message_id: str, conversation_key: str, seen_at: datetime
) -> None:
    """Record a published message's conversation (the first record of an id wins)."""
    statement = (
        insert(thread_message)
        .values(message_id=message_id, conversation_key=conversation_key, seen_at=seen_at)
        .on_conflict_do_nothing()
    )
    await session.execute(statement)
