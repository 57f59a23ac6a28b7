"""Erasure and retention in the email connector: the thread index (Message-IDs, subjects,
the addresses customers wrote to) and the delivery rows of replies."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from services.email.models import delivery, thread_message
from shared.events import ErasureEvent
from shared.privacy import (
    PrivacySettings,
    RetentionRule,
    delete_older,
    delivery_retention,
    erase_deliveries,
)


class EmailPrivacySettings(PrivacySettings):
    """Erasure and retention settings of the email connector (prefix ``EMAIL_``)."""

    model_config = SettingsConfigDict(env_prefix="EMAIL_", extra="ignore")

    retention_threads_days: float = Field(
        default=0,
        ge=0,
        description="Thread index rows (Message-ID, subject, recipient) are deleted this many "
        "days after they were seen; a customer answering an older mail starts a new "
        "conversation. 0 keeps them.",
    )
    retention_deliveries_days: float = Field(
        default=0, ge=0, description="Settled reply deliveries are deleted after this many days."
    )


async def erase(session: AsyncSession, event: ErasureEvent) -> None:
    """Forget the erased threads: their Message-IDs, subjects and recipients, and replies."""
    keys = event.conversation_keys
    await session.execute(delete(thread_message).where(thread_message.c.conversation_key.in_(keys)))
    await erase_deliveries(session, delivery, keys)


async def _sweep_threads(session: AsyncSession, cutoff: datetime, limit: int) -> int:
    return await delete_older(session, thread_message, thread_message.c.seen_at, cutoff, limit)


def retention_rules(settings: EmailPrivacySettings) -> list[RetentionRule]:
    return [
        RetentionRule(kind="threads", days=settings.retention_threads_days, sweep=_sweep_threads),
        delivery_retention(delivery, settings.retention_deliveries_days),
    ]
