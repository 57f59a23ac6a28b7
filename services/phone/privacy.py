"""Erasure and retention in the phone connector. Its call table keeps only call ids and
which steps were published (no numbers); the numbers it holds are in the delivery rows of
SMS and call-webhook replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.phone.models import call, call_redirect, delivery
from services.phone.settings import PhoneSettings
from shared.events import ErasureEvent
from shared.privacy import (
    RetentionRule,
    delete_older,
    delivery_retention,
    erase_deliveries,
)


async def erase(session: AsyncSession, event: ErasureEvent) -> None:
    """Delete the erased conversations' replies (SMS texts and numbers)."""
    await erase_deliveries(session, delivery, event.conversation_keys)


async def _sweep_calls(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    calls = await delete_older(session, call, call.c.created_at, cutoff, limit)
    redirects = await delete_older(
        session, call_redirect, call_redirect.c.created_at, cutoff, limit
    )
    return max(calls, redirects)


def retention_rules(settings: PhoneSettings) -> list[RetentionRule]:
    return [
        RetentionRule(kind="calls", days=settings.retention_calls_days, sweep=_sweep_calls),
        delivery_retention(delivery, settings.retention_deliveries_days),
    ]
