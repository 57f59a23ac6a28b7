"""Agents' replies leave the social connector: WhatsApp, Messenger, Instagram, Telegram, X."""

from aiokafka import ConsumerRecord

from services.social.outbound.messenger import MessengerTransport
from services.social.outbound.telegram import TelegramTransport
from services.social.outbound.whatsapp import WhatsAppTransport
from services.social.outbound.x import XTransport
from services.social.settings import SocialSettings
from shared.outbound import Transport

__all__ = [
    "MessengerTransport",
    "TelegramTransport",
    "WhatsAppTransport",
    "XTransport",
    "may_be_delivered",
    "transports",
]

#: Conversation key prefixes of the providers this connector delivers for.
KEY_PREFIXES = (b"whatsapp:", b"messenger:", b"instagram:", b"telegram:", b"x:")


def transports(settings: SocialSettings) -> list[Transport]:
    """The social connector's outbound transports, one per provider API."""
    return [
        WhatsAppTransport(settings),
        MessengerTransport(settings),
        TelegramTransport(settings),
        XTransport(settings),
    ]


def may_be_delivered(record: ConsumerRecord) -> bool:
    """Whether a record may be a reply this connector delivers: its key names our providers."""
    return isinstance(record.key, bytes) and record.key.startswith(KEY_PREFIXES)
