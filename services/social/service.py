"""Verifies the platforms' webhooks, turns them into interaction events and publishes them."""

from __future__ import annotations

from datetime import UTC, datetime

from services.social import messenger, telegram, whatsapp, x
from services.social.events import Message, to_event
from services.social.schemas import MessagingWebhook, MetaWebhook, TelegramUpdate, XActivity
from services.social.settings import SocialSettings
from shared.errors import BadRequest, Forbidden, Unauthorized
from shared.events import InteractionEvent
from shared.kafka import EventProducer, publish_interactions
from shared.signatures import hmac_sha256_base64, hmac_sha256_hex, signatures_match


def meta_challenge(
    *, settings: SocialSettings, mode: str | None, verify_token: str | None, challenge: str | None
) -> str:
    """The challenge to echo when Meta's subscription handshake names our verify token."""
    missing = [
        name
        for name, value in (
            ("hub.mode", mode),
            ("hub.verify_token", verify_token),
            ("hub.challenge", challenge),
        )
        if not value
    ]
    if missing:
        raise BadRequest(
            "verification request is incomplete",
            detail=[{"field": name, "problem": "missing"} for name in missing],
        )
    if mode != "subscribe":
        raise BadRequest(
            "verification request is invalid",
            detail=[{"field": "hub.mode", "problem": f"must be 'subscribe'; got {mode!r}"}],
        )
    if not signatures_match(settings.meta_verify_token.get_secret_value(), verify_token):
        raise Forbidden("hub.verify_token does not match")
    assert challenge is not None
    return challenge


def verify_meta_signature(*, settings: SocialSettings, body: bytes, signature: str | None) -> None:
    """``X-Hub-Signature-256`` must be ``sha256=<hex HMAC-SHA256(app secret, raw body)>``."""
    expected = "sha256=" + hmac_sha256_hex(settings.meta_app_secret.get_secret_value(), body)
    if not signatures_match(expected, signature):
        raise Unauthorized("X-Hub-Signature-256 is missing or does not match the body")


def x_crc_response(*, settings: SocialSettings, crc_token: str | None) -> str:
    """The ``response_token`` proving to X that we hold the consumer secret."""
    if not crc_token:
        raise BadRequest(
            "CRC request is incomplete", detail=[{"field": "crc_token", "problem": "missing"}]
        )
    secret = settings.x_consumer_secret.get_secret_value()
    return "sha256=" + hmac_sha256_base64(secret, crc_token.encode())


def verify_x_signature(*, settings: SocialSettings, body: bytes, signature: str | None) -> None:
    """``x-twitter-webhooks-signature`` must be ``sha256=<base64 HMAC-SHA256(secret, body)>``."""
    secret = settings.x_consumer_secret.get_secret_value()
    if not signatures_match("sha256=" + hmac_sha256_base64(secret, body), signature):
        raise Unauthorized("x-twitter-webhooks-signature is missing or does not match the body")


def verify_telegram_token(*, settings: SocialSettings, token: str | None) -> None:
    """Telegram echoes the ``secret_token`` given to setWebhook in a header."""
    if not signatures_match(settings.telegram_secret_token.get_secret_value(), token):
        raise Unauthorized("X-Telegram-Bot-Api-Secret-Token is missing or does not match")


async def ingest_meta(
    webhook: MetaWebhook, *, producer: EventProducer, received_at: datetime
) -> list[InteractionEvent]:
    """Publish every message of a Messenger, Instagram or WhatsApp webhook."""
    if isinstance(webhook, MessagingWebhook):
        messages = messenger.messages_of(webhook, received_at=received_at)
    else:
        messages = whatsapp.messages_of(webhook, received_at=received_at)
    return await _publish(messages, producer=producer, received_at=received_at)


async def ingest_x(
    activity: XActivity, *, producer: EventProducer, received_at: datetime
) -> list[InteractionEvent]:
    """Publish every event of an X Account Activity delivery."""
    messages = x.messages_of(activity, received_at=received_at)
    return await _publish(messages, producer=producer, received_at=received_at)


async def ingest_telegram(
    update: TelegramUpdate, *, producer: EventProducer, received_at: datetime
) -> list[InteractionEvent]:
    """Publish the event of one Telegram update."""
    messages = telegram.messages_of(update, received_at=received_at)
    return await _publish(messages, producer=producer, received_at=received_at)


async def _publish(
    messages: list[Message], *, producer: EventProducer, received_at: datetime
) -> list[InteractionEvent]:
    """One ``publish_many`` for the whole batch: it returns once all are acknowledged."""
    events = [to_event(message, received_at=received_at) for message in messages]
    await publish_interactions(producer, events)
    return events


def now() -> datetime:
    return datetime.now(UTC)
