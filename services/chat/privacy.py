"""Erasure and retention in the chat connector: website chat sessions and their messages,
and the delivery rows of replies to Slack and generic chat tools."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat.models import chat_message, chat_session, delivery
from services.chat.settings import ChatSettings
from shared.events import ErasureEvent
from shared.privacy import RetentionRule, delivery_retention, erase_deliveries


async def erase(session: AsyncSession, event: ErasureEvent) -> None:
    """Delete each erased website chat session (visitor name, email, page, attributes) and
    its messages: its token opens nothing any more, and a reply still on its way finds no
    session to be stored in. Then the replies queued for Slack or generic chat tools."""
    keys = event.conversation_keys
    sessions = select(chat_session.c.id).where(chat_session.c.conversation_key.in_(keys))
    await session.execute(delete(chat_message).where(chat_message.c.session_id.in_(sessions)))
    await session.execute(delete(chat_session).where(chat_session.c.conversation_key.in_(keys)))
    await erase_deliveries(session, delivery, keys)


async def _sweep_sessions(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    ids = list(
        (
            await session.execute(
                select(chat_session.c.id)
                .where(chat_session.c.last_activity_at < cutoff)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
    if ids:
        await session.execute(delete(chat_message).where(chat_message.c.session_id.in_(ids)))
        await session.execute(delete(chat_session).where(chat_session.c.id.in_(ids)))
    return len(ids)


def retention_rules(settings: ChatSettings) -> list[RetentionRule]:
    return [
        RetentionRule(
            kind="sessions", days=settings.retention_sessions_days, sweep=_sweep_sessions
        ),
        delivery_retention(delivery, settings.retention_deliveries_days),
    ]
