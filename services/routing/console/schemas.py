"""Request and response bodies of the console's API."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.routing.schemas import AgentOut


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- sign-in -------------------------------------------------------------------


class SigninLinkOut(BaseModel):
    url: str = Field(
        description="Relative to routing's address; the token is in the fragment, which "
        "browsers never send to a server.",
        examples=["/console/#signin=Zm9v..."],
    )
    expires_at: datetime


class SigninBody(_Body):
    token: str = Field(min_length=16, max_length=256)


class SessionOut(BaseModel):
    agent: AgentOut
    expires_at: datetime


# -- agent ---------------------------------------------------------------------


class OfferCardOut(_Out):
    id: uuid.UUID
    conversation_id: uuid.UUID
    channel: str
    provider: str
    queue: str | None
    customer_name: str
    preview: str | None = Field(description="The start of the customer's first message.")
    offered_at: datetime
    expires_at: datetime
    note: str | None


class ConversationCardOut(_Out):
    id: uuid.UUID
    channel: str
    provider: str
    status: str
    queue: str | None
    customer_name: str
    opened_at: datetime
    queued_at: datetime | None
    accepted_at: datetime | None
    first_reply_at: datetime | None
    sla_deadline: datetime | None
    last_inbound_at: datetime
    last_reply_at: datetime | None
    labels: list[str] = Field(default_factory=list, description="The conversation's labels.")


class WorkspaceOut(_Out):
    me: AgentOut
    offers: list[OfferCardOut]
    conversations: list[ConversationCardOut]
    server_time: datetime = Field(description="To correct the console's countdowns for skew.")


class ColleagueOut(_Out):
    id: uuid.UUID
    name: str
    status: str


class DirectoryOut(_Out):
    agents: list[ColleagueOut]
    queues: list[str]


class NoteBody(_Body):
    text: str = Field(min_length=1, max_length=16 * 1024)


class CannedOut(_Out):
    id: uuid.UUID
    queue: str | None = Field(description="The queue it is for; null: every queue.")
    shortcut: str
    text: str
    created_at: datetime
    updated_at: datetime


Shortcut = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")


class CannedCreate(_Body):
    queue: str | None = Field(default=None, min_length=1, max_length=128)
    shortcut: str = Shortcut
    text: str = Field(min_length=1, max_length=16 * 1024)


class CannedUpdate(_Body):
    queue: str | None = Field(
        default=None, min_length=1, max_length=128, description="null: every queue."
    )
    shortcut: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$"
    )
    text: str | None = Field(default=None, min_length=1, max_length=16 * 1024)

    @model_validator(mode="after")
    def _no_null_words(self) -> "CannedUpdate":
        if any(
            k in self.model_fields_set and getattr(self, k) is None for k in ("shortcut", "text")
        ):
            raise ValueError("shortcut and text cannot be null")
        return self


# -- supervisor ----------------------------------------------------------------


class QueueHealthOut(_Out):
    name: str
    channel: str
    waiting: int
    offered: int
    assigned: int
    longest_wait_seconds: float
    service_level: float | None = Field(
        description="Of the conversations queued in the last hour whose SLA was met or "
        "missed, the share accepted within it; null when none."
    )
    sla_seconds: int


class AgentLoadOut(_Out):
    id: uuid.UUID
    name: str
    status: str
    status_changed_at: datetime
    capacity: dict[str, int]
    load: dict[str, int] = Field(description="Conversations held (offered or assigned) by channel.")


class WaitingOut(_Out):
    id: uuid.UUID
    channel: str
    queue: str | None
    customer_name: str
    queued_at: datetime | None
    sla_deadline: datetime | None


class SupervisorOut(_Out):
    queues: list[QueueHealthOut]
    agents: list[AgentLoadOut]
    waiting: list[WaitingOut] = Field(description="Longest waiting first, at most 100.")
    server_time: datetime


class SupervisorOffer(_Body):
    agent_id: uuid.UUID
    note: str | None = Field(default=None, max_length=4096)


class SupervisorStatus(_Body):
    status: Literal["away", "offline"]
