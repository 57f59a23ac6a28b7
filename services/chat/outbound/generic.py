"""Replies to generic chat conversations: a signed POST to ``CHAT_GENERIC_OUTBOUND_URL``."""

from __future__ import annotations

from services.chat.settings import ChatSettings
from services.chat.visitors import PROVIDER as WIDGET
from shared.events import Channel
from shared.outbound.webhook import SignedWebhookTransport

__all__ = ["generic_chat_transport"]


def generic_chat_transport(settings: ChatSettings) -> SignedWebhookTransport:
    """For whatever tool posted the conversation; Slack and the widget have their own paths."""
    return SignedWebhookTransport(
        url=settings.generic_outbound_url,
        secret=settings.generic_outbound_secret or settings.generic_secret,
        setting="CHAT_GENERIC_OUTBOUND_URL",
        channel=Channel.CHAT,
        not_for=("slack", WIDGET),
        id_field="conversation_id",
    )
