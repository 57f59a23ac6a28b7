"""Erasure and retention in the social connector: the delivery rows of agents' replies are
all it keeps (the text, the customer's platform id or number, the conversation key)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.social.models import delivery
from services.social.settings import SocialSettings
from shared.events import ErasureEvent
from shared.privacy import RetentionRule, delivery_retention, erase_deliveries


async def erase(session: AsyncSession, event: ErasureEvent) -> None:
    """Delete the erased conversations' replies."""
    await erase_deliveries(session, delivery, event.conversation_keys)


def retention_rules(settings: SocialSettings) -> list[RetentionRule]:
    return [delivery_retention(delivery, settings.retention_deliveries_days)]
