"""Replies to generic call sources: a signed POST to ``PHONE_GENERIC_OUTBOUND_URL``."""

from __future__ import annotations

from services.phone.settings import PhoneSettings
from shared.events import Channel
from shared.outbound.webhook import SignedWebhookTransport

__all__ = ["generic_call_transport"]

#: Providers with a transport of their own, or none (a Twilio or Asterisk call).
_NOT_GENERIC = ("twilio_sms", "twilio_voice", "asterisk")


def generic_call_transport(settings: PhoneSettings) -> SignedWebhookTransport:
    """For whatever system logged the call (generic call logs are named by their source)."""
    return SignedWebhookTransport(
        url=settings.generic_outbound_url,
        secret=settings.generic_outbound_secret or settings.generic_secret,
        setting="PHONE_GENERIC_OUTBOUND_URL",
        channel=Channel.PHONE,
        not_for=_NOT_GENERIC,
        id_field="call_id",
    )
