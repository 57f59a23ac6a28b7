"""SQL of the email connector."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.email.models import mailgun_token


async def claim_mailgun_token(
    session: AsyncSession, *, token: str, signed_at: datetime, seen_at: datetime
) -> bool:
    """Record ``token``; False when it was already recorded (a replay)."""
    statement = (
        insert(mailgun_token)
        .values(token=token, signed_at=signed_at, seen_at=seen_at)
        .on_conflict_do_nothing()
        .returning(mailgun_token.c.token)
    )
    return (await session.execute(statement)).first() is not None


async def forget_mailgun_tokens_before(session: AsyncSession, signed_before: datetime) -> None:
    """Drop tokens whose timestamps are too old to pass the freshness check anyway."""
    await session.execute(delete(mailgun_token).where(mailgun_token.c.signed_at < signed_before))
