"""Webhook bodies of the social providers, one module a platform, and the connector's answers.

The parsers read their platform's models from its module; this package names what the
endpoints and the service take in and give back.
"""

from services.social.schemas.common import LATEST_EPOCH_S, Accepted, parse
from services.social.schemas.messenger import MessagingWebhook
from services.social.schemas.meta import MetaWebhook, parse_meta
from services.social.schemas.telegram import TelegramUpdate
from services.social.schemas.x import CrcResponse, XActivity

__all__ = [
    "LATEST_EPOCH_S",
    "Accepted",
    "CrcResponse",
    "MessagingWebhook",
    "MetaWebhook",
    "TelegramUpdate",
    "XActivity",
    "parse",
    "parse_meta",
]
