"""The interaction event: one schema for every channel, on topic ``interactions.v1``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "EVENT_ID_NAMESPACE",
    "INTERACTIONS_TOPIC",
    "Attachment",
    "CallDisposition",
    "CallInfo",
    "Channel",
    "Content",
    "Customer",
    "Direction",
    "EventType",
    "InteractionEvent",
    "MessageStatus",
    "SurveyAnswer",
    "event_id_for",
]

INTERACTIONS_TOPIC = "interactions.v1"

#: Namespace of the UUIDv5 event ids. Never change it: ids would stop matching retries.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c1d2e-4a52-5c1b-9a8e-3b7d0c2f9e41")


def event_id_for(provider: str, provider_message_id: str, event_type: str) -> uuid.UUID:
    """Return the deterministic id of a provider event.

    A retried webhook carries the same provider message id, so it yields the
    same event id and is counted once by every consumer.
    """
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{provider}\x1f{provider_message_id}\x1f{event_type}")


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamps must carry a time zone")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+14:00 is before the first UTC datetime Python has.
        raise ValueError("timestamp out of range") from None


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]


class Channel(StrEnum):
    EMAIL = "email"
    SOCIAL = "social"
    CHAT = "chat"
    PHONE = "phone"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class EventType(StrEnum):
    MESSAGE_RECEIVED = "message.received"
    MESSAGE_SENT = "message.sent"
    MESSAGE_STATUS = "message.status"
    CALL_STARTED = "call.started"
    CALL_ANSWERED = "call.answered"
    CALL_ENDED = "call.ended"
    SURVEY_RESPONSE = "survey.response"
    #: The customer left before the conversation ended (closed the chat, timed out).
    CUSTOMER_LEFT = "customer.left"


class MessageStatus(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class CallDisposition(StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    MISSED = "missed"
    BUSY = "busy"
    FAILED = "failed"
    VOICEMAIL = "voicemail"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Customer(_Model):
    """The sender as the channel knows them."""

    id: str = Field(min_length=1, description="Email address, E.164 number, scoped id or handle.")
    display_name: str | None = None
    kind: str = Field(
        default="id", description="What `id` is: email, phone, page_scoped_id, handle, session..."
    )
    verified: bool | None = Field(
        default=None,
        description="True: the connector vouches that the sender controls `id` (an email "
        "whose DKIM or SPF passed for its From domain); False: it does not; None: the "
        "channel's default.",
    )


class Attachment(_Model):
    """An attachment's metadata; the bytes never travel on Kafka."""

    name: str | None = None
    content_type: str
    size: int | None = Field(
        default=None, ge=0, description="Bytes; None when the provider does not say."
    )
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    provider_media_id: str | None = None
    inline: bool = False


class Content(_Model):
    subject: str | None = None
    text: str | None = None
    stripped_text: str | None = Field(
        default=None, description="The reply without quoted history and signature."
    )
    html: bool = Field(default=False, description="True when `text` was derived from HTML.")
    language: str | None = Field(
        default=None,
        max_length=16,
        description="ISO 639-1 code of the customer's language (fr, de...): the provider's word "
        "when it gives one (Telegram language_code, email Content-Language), else detected from "
        "the text by the connector; None when the text is too short or the detector unsure.",
    )
    content_type: str = Field(default="text", description="text, image, audio, location...")
    attachments: tuple[Attachment, ...] = ()
    in_reply_to: str | None = Field(
        default=None, description="Provider id of the message this one answers or reacts to."
    )
    status: MessageStatus | None = Field(default=None, description="For message.status events.")
    status_reason: str | None = Field(
        default=None,
        max_length=1024,
        description="For a failed message.status: why, in the provider's words where it gave any.",
    )


class CallInfo(_Model):
    from_number: str | None = None
    to_number: str | None = None
    queue_wait_seconds: float | None = Field(default=None, ge=0)
    talk_seconds: float | None = Field(default=None, ge=0)
    disposition: CallDisposition | None = None
    recording_ref: str | None = None


class SurveyAnswer(_Model):
    """A CSAT (1-5) or NPS (0-10) answer tied to a conversation."""

    kind: str = Field(pattern=r"^(csat|nps)$")
    score: int

    @model_validator(mode="after")
    def _score_in_range(self) -> SurveyAnswer:
        low, high = (1, 5) if self.kind == "csat" else (0, 10)
        if not low <= self.score <= high:
            raise ValueError(f"{self.kind} score must be between {low} and {high}")
        return self


class InteractionEvent(_Model):
    """One normalized interaction, whatever channel it came through."""

    event_id: uuid.UUID
    schema_version: int = Field(default=1, ge=1, le=1)
    type: EventType
    channel: Channel
    provider: str = Field(min_length=1, max_length=64)
    direction: Direction
    occurred_at: UtcDatetime
    received_at: UtcDatetime
    customer: Customer
    conversation_key: str = Field(min_length=1, max_length=512)
    content: Content | None = None
    call: CallInfo | None = None
    survey: SurveyAnswer | None = None
    automated: bool = Field(
        default=False,
        description="Auto-replies, bounces and bots: never open a conversation or stop the clock.",
    )
    agent_id: str | None = Field(default=None, description="The human agent of an outbound event.")
    status_of: uuid.UUID | None = Field(
        default=None,
        description="For message.status: the event id of the message.sent it reports on, when "
        "the connector knows it (its own deliveries); receipts may carry only `raw_ref`.",
    )
    parse_warnings: tuple[str, ...] = ()
    raw_ref: str | None = Field(default=None, description="The provider's id of the message.")
    provider_meta: dict[str, str] = Field(default_factory=dict)

    @property
    def kafka_key(self) -> bytes:
        return self.conversation_key.encode()

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> InteractionEvent:
        return cls.model_validate_json(data)
