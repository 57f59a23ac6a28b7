"""Erasure and retention in the email connector: the thread index (Message-IDs, subjects,
the addresses customers wrote to) and the delivery rows of replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.email.models import delivery, thread_message
from services.email.settings import EmailSettings
from shared.events import ErasureEvent
from shared.privacy import (
    RetentionRule,
    delete_older,
    delivery_retention,
    erase_deliveries,
)


async def erase(session: AsyncSession, event: ErasureEvent) -> None:
    """Forget the erased threads: their Message-IDs, subjects and recipients, and replies."""
    keys = event.conversation_keys
    await session.execute(delete(thread_message).where(thread_message.c.conversation_key.in_(keys)))
    await erase_deliveries(session, delivery, keys)


async def _sweep_threads(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    return await delete_older(session, thread_message, thread_message.c.seen_at, cutoff, limit)


def retention_rules(settings: EmailSettings) -> list[RetentionRule]:
    return [
        RetentionRule(kind="threads", days=settings.retention_threads_days, sweep=_sweep_threads),
        delivery_retention(delivery, settings.retention_deliveries_days),
    ]
