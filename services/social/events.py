"""What every social platform's normalizer shares: time stamps, ids, phone numbers, media."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from pydantic import ValidationError

from services.social.schemas.common import LATEST_EPOCH_S
from shared.errors import invalid_body
from shared.events import (
    Attachment,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    MessageStatus,
    event_id_for,
)
from shared.language import language_of

#: A media kind's MIME type when the provider does not say (Messenger, X).
GENERIC_MIME = {
    "image": "image/*",
    "audio": "audio/*",
    "video": "video/*",
    "sticker": "image/*",
    "document": "application/octet-stream",
}

STATUSES = {status.value: status for status in MessageStatus}

#: The content types whose text the customer typed (a message, a media's caption): the only
#: ones a language is detected from. Postbacks and quick replies carry our buttons' titles.
_TYPED_BY_CUSTOMER = frozenset({"text", "image", "video", "audio", "document", "file"})


@dataclass(frozen=True)
class Message:
    """The platform-independent facts of one social event, before it becomes an event."""

    provider: str
    #: Unique per provider and event type: retries yield the same event id from it.
    dedup_key: str
    type: EventType
    direction: Direction
    occurred_at: datetime
    customer: Customer
    conversation_key: str
    content: Content
    raw_ref: str | None
    provider_meta: dict[str, str] = field(default_factory=dict)
    automated: bool = False
    parse_warnings: tuple[str, ...] = ()
    #: The language the platform says its user speaks (Telegram's ``language_code``).
    language_hint: str | None = None


def to_event(message: Message, *, received_at: datetime) -> InteractionEvent:
    """The interaction event of ``message`` on the social channel; 400 when a value the body
    gave is one no event can carry (an id of 4,300 digits in a conversation key)."""
    try:
        return _event(message, received_at=received_at)
    except ValidationError as exc:
        # Every value of the event comes from the body, so the body is at fault, not us.
        raise invalid_body(exc, "body holds a value no event can carry") from None


def _event(message: Message, *, received_at: datetime) -> InteractionEvent:
    return InteractionEvent(
        event_id=event_id_for(message.provider, message.dedup_key, message.type),
        type=message.type,
        channel=Channel.SOCIAL,
        provider=message.provider,
        direction=message.direction,
        occurred_at=message.occurred_at,
        received_at=received_at,
        customer=message.customer,
        conversation_key=message.conversation_key,
        content=_with_language(message),
        automated=message.automated,
        parse_warnings=message.parse_warnings,
        raw_ref=message.raw_ref,
        provider_meta={k: v for k, v in message.provider_meta.items() if v},
    )


def _with_language(message: Message) -> Content:
    """The content of a customer's message with its language: the platform's word, else
    detected from the customer's own words, a text or a caption (not from a reaction, a
    button's title or an automated event)."""
    content = message.content
    if (
        message.type is not EventType.MESSAGE_RECEIVED
        or message.direction is not Direction.INBOUND
        or content.language is not None
    ):
        return content
    typed = not message.automated and content.content_type in _TYPED_BY_CUSTOMER
    language = language_of(content.text if typed else None, hint=message.language_hint)
    return content.model_copy(update={"language": language}) if language else content


def from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def from_seconds(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def time_or(value: object, fallback: datetime, *, millis: bool = False) -> datetime:
    """A provider's optional epoch time stamp (seconds, or milliseconds), else ``fallback``;
    also ``fallback`` for a time stamp later than a ``datetime`` can hold."""
    if isinstance(value, int | str) and str(value).isdigit():
        number = int(value)
        if (number / 1000 if millis else number) <= LATEST_EPOCH_S:
            return from_millis(number) if millis else from_seconds(number)
    return fallback


def fingerprint(document: Any) -> str:
    """A stable id for a provider item that has none of its own (same item, same id)."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def e164(number: str) -> tuple[str, tuple[str, ...]]:
    """A WhatsApp ``wa_id`` (digits with country code, no plus) as E.164, and any warning."""
    candidate = number if number.startswith("+") else f"+{number}"
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        return candidate, (f"wa_id {number!r} is not a phone number",)
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_possible_number(parsed):
        return formatted, (f"wa_id {number!r} is not a possible phone number",)
    return formatted, ()


def hex_sha256(value: str | None) -> str | None:
    """A media hash as lowercase hex; WhatsApp sends it base64-encoded, some docs show hex."""
    if not value:
        return None
    if len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        digest = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return digest.hex() if len(digest) == 32 else None


def media(
    kind: str,
    media_id: str | None,
    *,
    mime_type: str | None = None,
    name: str | None = None,
    size: int | None = None,
    sha256: str | None = None,
) -> Attachment:
    """Attachment metadata of one media item (no size when the provider does not tell it)."""
    return Attachment(
        name=name,
        content_type=mime_type or GENERIC_MIME.get(kind, "application/octet-stream"),
        size=size,
        sha256=hex_sha256(sha256),
        provider_media_id=media_id,
    )


def location_meta(latitude: float, longitude: float, **details: str | None) -> dict[str, str]:
    meta = {"latitude": repr(latitude), "longitude": repr(longitude)}
    meta.update({k: v for k, v in details.items() if v})
    return meta


def location_text(latitude: float, longitude: float, *parts: str | None) -> str:
    return ", ".join([p for p in parts if p] + [f"{latitude!r},{longitude!r}"])
