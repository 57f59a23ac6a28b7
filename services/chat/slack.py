"""Slack Events API: its envelopes, and message events as interaction events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.events import (
    Attachment,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)
from shared.language import language_of

#: Message subtypes that are a person's new message.
NEW_MESSAGE_SUBTYPES = {None, "file_share", "thread_broadcast", "me_message"}


#: Slack's message timestamps: seconds, a dot, a sequence number ("1355517523.000005").
TS_PATTERN = r"^\d{1,11}(\.\d{1,9})?$"


def _slack_id() -> Any:
    """An optional Slack id (channel, user, team, event...): a short word."""
    return Field(default=None, min_length=1, max_length=100)


class SlackFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str = Field(min_length=1, max_length=100)
    name: str | None = Field(default=None, max_length=1000)
    mimetype: str | None = Field(default=None, max_length=255)
    size: int | None = Field(default=None, ge=0)


class SlackMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=100)
    subtype: str | None = Field(default=None, max_length=100)
    channel: str | None = _slack_id()
    user: str | None = _slack_id()
    bot_id: str | None = _slack_id()
    text: str | None = None
    ts: str | None = Field(default=None, pattern=TS_PATTERN)
    thread_ts: str | None = Field(default=None, pattern=TS_PATTERN)
    client_msg_id: str | None = _slack_id()
    files: list[SlackFile] = Field(default_factory=list, max_length=100)


class SlackEnvelope(BaseModel):
    """What Slack posts: a URL verification or an event callback."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(max_length=100)
    challenge: str | None = Field(default=None, max_length=1000)
    team_id: str | None = _slack_id()
    event_id: str | None = _slack_id()
    event_time: int | None = None
    event: dict[str, Any] | None = None


def ignored_because(message: SlackMessage) -> str | None:
    """Why a message event is not published, or None to publish it.

    Bots (ours included, whose replies Slack echoes back) never count as a
    customer; edits and deletions change a message already published, which
    the event log keeps as it was.
    """
    if message.type != "message":
        return f"event type {message.type} is not a message"
    if message.bot_id or message.subtype == "bot_message":
        return "bot message"
    if message.subtype in ("message_changed", "message_deleted"):
        return f"{message.subtype}: the published message stays as it was"
    if message.subtype not in NEW_MESSAGE_SUBTYPES:
        return f"subtype {message.subtype} is not a new message"
    if not (message.user and message.channel and message.ts):
        return "message without user, channel or ts"
    return None


def to_event(
    envelope: SlackEnvelope, message: SlackMessage, *, received_at: datetime
) -> InteractionEvent:
    if not (message.user and message.channel and message.ts and envelope.event_id):
        raise ValueError("call ignored_because() first: this message is not publishable")
    sent_at = datetime.fromtimestamp(float(message.ts), UTC)
    thread = message.thread_ts or message.ts
    return InteractionEvent(
        event_id=event_id_for("slack", envelope.event_id, EventType.MESSAGE_RECEIVED),
        type=EventType.MESSAGE_RECEIVED,
        channel=Channel.CHAT,
        provider="slack",
        direction=Direction.INBOUND,
        occurred_at=sent_at,
        received_at=received_at,
        customer=Customer(id=message.user, kind="slack_user"),
        conversation_key=f"slack:{message.channel}:{thread}",
        content=Content(
            text=message.text or "",
            language=language_of(message.text),
            in_reply_to=message.thread_ts if message.thread_ts != message.ts else None,
            attachments=tuple(
                Attachment(
                    name=f.name,
                    content_type=f.mimetype or "application/octet-stream",
                    size=f.size,
                    provider_media_id=f.id,
                )
                for f in message.files
            ),
        ),
        raw_ref=message.client_msg_id or message.ts,
        provider_meta={
            key: value
            for key, value in (
                ("team_id", envelope.team_id),
                ("slack_event_id", envelope.event_id),
                ("ts", message.ts),
            )
            if value
        },
    )
