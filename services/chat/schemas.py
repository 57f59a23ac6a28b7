"""Request bodies of the chat connector."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import BadRequest
from shared.events import Direction
from shared.json import json_document


class Sender(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    email: str | None = Field(default=None, max_length=320)


class GenericChatMessage(BaseModel):
    """One message from any chat tool, posted to ``/webhooks/generic``."""

    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(min_length=1, max_length=256, description="Unique per message.")
    conversation_id: str = Field(min_length=1, max_length=256)
    sender: Sender
    text: str = Field(max_length=64 * 1024)
    sent_at: datetime | None = Field(default=None, description="ISO 8601 with a time zone.")
    direction: Direction = Direction.INBOUND
    source: str = Field(default="generic", pattern=r"^[a-z0-9_\-]{1,40}$")
    language: str | None = Field(
        default=None,
        max_length=35,
        description="The message's language as the tool knows it (a tag such as fr or fr-FR); "
        "detected from the text when absent.",
    )


class GenericChatBatch(BaseModel):
    """Several messages in one POST to ``/webhooks/generic``: published together, all or none."""

    model_config = ConfigDict(extra="forbid")

    messages: list[GenericChatMessage] = Field(min_length=1, max_length=100)


def generic_messages(body: bytes) -> list[GenericChatMessage]:
    """The messages of a generic-webhook body: one message, or ``{"messages": [...]}``.

    Raises pydantic's ``ValidationError`` for anything else, malformed JSON included.
    """
    try:
        parsed = json_document(body)
    except BadRequest:
        # Not JSON, an integer past int()'s 4,300 digits, or nesting too deep: pydantic's own
        # parser below names the problem.
        parsed = None
    if isinstance(parsed, dict) and "messages" in parsed:
        return GenericChatBatch.model_validate(parsed).messages
    return [GenericChatMessage.model_validate_json(body)]


class Accepted(BaseModel):
    event_ids: list[str]
    duplicate: bool = Field(
        default=False,
        description="True when this webhook-id was published before: nothing new was.",
    )


class NewSession(BaseModel):
    """What a visitor may tell when opening a chat; all optional."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    page_url: str | None = Field(default=None, max_length=2000)
    # Bounded by the settings (services/chat/attributes.py), answered 422 naming the field.
    attributes: dict[str, str] = Field(default_factory=dict)


class SessionOpened(BaseModel):
    session_id: str
    token: str = Field(description="Bearer token of every later call; keep it secret.")
    conversation_key: str


class SessionInfo(BaseModel):
    session_id: str
    conversation_key: str
    closed: bool


class VisitorMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    client_message_id: str = Field(
        min_length=1,
        max_length=100,
        description="Chosen by the widget per message: a resend after an error is not a new one.",
    )
    language: str | None = Field(
        default=None,
        max_length=64,
        description="The visitor's browser language (navigator.language, e.g. fr-FR): the "
        "message's language when its text is too short to tell (\"Hi\"); the text's own "
        "language wins. A tag that names no ISO 639-1 language is ignored.",
    )


class ChatMessage(BaseModel):
    id: int
    author: str
    agent_id: str | None
    text: str
    sent_at: str


class MessageSent(BaseModel):
    event_id: str
    message: ChatMessage | None = Field(description="None when this was a resend.")


class History(BaseModel):
    messages: list[ChatMessage] = Field(description="Oldest first, at most `limit`.")
    next_after: int | None = Field(
        description="The `after` of the next page; null when this page is the last."
    )
