"""Request bodies of the chat connector."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.events import Direction


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


class Accepted(BaseModel):
    event_ids: list[str]
