"""Erasure and retention in the social connector: the delivery rows of agents' replies are
all it keeps (the text, the customer's platform id or number, the conversation key)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from services.social.models import delivery
from shared.events import ErasureEvent
from shared.privacy import PrivacySettings, RetentionRule, delivery_retention, erase_deliveries


class SocialPrivacySettings(PrivacySettings):
    """Erasure and retention settings of the social connector (prefix ``SOCIAL_``)."""

    model_config = SettingsConfigDict(env_prefix="SOCIAL_", extra="ignore")

    retention_deliveries_days: float = Field(
        default=0, ge=0, description="Settled reply deliveries are deleted after this many days."
    )


async def erase(session: AsyncSession, event: ErasureEvent) -> None:
    """Delete the erased conversations' replies."""
    await erase_deliveries(session, delivery, event.conversation_keys)


def retention_rules(settings: SocialPrivacySettings) -> list[RetentionRule]:
    return [delivery_retention(delivery, settings.retention_deliveries_days)]
