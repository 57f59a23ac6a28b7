"""Erasure and retention in the phone connector. Its call table keeps call ids, which
steps were published and each call's customer (the caller's number, for a recording that
arrives after the call); its other numbers are in the delivery rows of SMS and call-webhook
replies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
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
    """Delete the erased conversations' replies (SMS texts and numbers) and forget their
    calls' customers."""
    await erase_deliveries(session, delivery, event.conversation_keys)
    await session.execute(
        update(call)
        .where(call.c.call_key.in_(event.conversation_keys))
        .values(customer_id=None, customer_kind=None)
    )


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
