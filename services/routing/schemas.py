"""Request and response bodies of the routing API."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import Channel

#: The statuses of :class:`services.routing.domain.AgentStatus`, as the API takes them.
StatusName = Literal["available", "busy", "away", "offline"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- agent ---------------------------------------------------------------------


class StatusChange(_Body):
    status: StatusName


class ReplyBody(_Body):
    text: str = Field(min_length=1, max_length=64 * 1024)
    reply_id: uuid.UUID | None = Field(
        default=None, description="Your id for this reply: sending it again changes nothing."
    )


class TransferBody(_Body):
    to_agent_id: uuid.UUID | None = None
    to_queue: str | None = Field(default=None, min_length=1, max_length=128)
    note: str | None = Field(default=None, max_length=4096)

    @model_validator(mode="after")
    def _one_target(self) -> "TransferBody":
        if (self.to_agent_id is None) == (self.to_queue is None):
            raise ValueError("give exactly one of to_agent_id and to_queue")
        return self


class AgentOut(_Out):
    id: uuid.UUID
    name: str
    skills: list[str]
    languages: list[str]
    capacity: dict[str, int]
    status: str
    status_changed_at: datetime
    last_idle_at: datetime
    consecutive_timeouts: int


class OfferOut(_Out):
    id: uuid.UUID
    conversation_id: uuid.UUID
    conversation_key: str
    channel: str
    state: str
    offered_at: datetime
    expires_at: datetime
    note: str | None = None


class ConversationOut(_Out):
    id: uuid.UUID
    conversation_key: str
    channel: str
    provider: str
    customer_id: str
    contact_id: uuid.UUID | None
    language: str | None
    status: str
    queue: str | None = Field(default=None, validation_alias="queue_name")
    agent_id: uuid.UUID | None
    opened_at: datetime
    queued_at: datetime | None
    accepted_at: datetime | None
    first_reply_at: datetime | None
    resolved_at: datetime | None
    reopen_count: int


class ReplyOut(BaseModel):
    event_id: uuid.UUID
    reply_id: str
    conversation_id: uuid.UUID


# -- admin ---------------------------------------------------------------------


class AgentCreate(_Body):
    name: str = Field(min_length=1, max_length=256)
    skills: list[str] = Field(default_factory=list, max_length=100)
    languages: list[str] = Field(default_factory=list, max_length=50)
    capacity: dict[Channel, int] = Field(
        default_factory=dict,
        description="Per channel; defaults phone 1, chat 3, social 5, email 5.",
    )
    status: StatusName = "offline"

    @model_validator(mode="after")
    def _non_negative(self) -> "AgentCreate":
        if any(v < 0 or v > 1000 for v in self.capacity.values()):
            raise ValueError("capacity must be between 0 and 1000")
        return self


class AgentUpdate(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=256)
    skills: list[str] | None = Field(default=None, max_length=100)
    languages: list[str] | None = Field(default=None, max_length=50)
    capacity: dict[Channel, int] | None = None

    @model_validator(mode="after")
    def _non_negative(self) -> "AgentUpdate":
        if self.capacity and any(v < 0 or v > 1000 for v in self.capacity.values()):
            raise ValueError("capacity must be between 0 and 1000")
        return self


class AgentCreated(BaseModel):
    agent: AgentOut
    token: str = Field(description="The agent's bearer token; shown only now.")


class QueueFields(_Body):
    providers: list[str] = Field(
        default_factory=list, description="Only these providers' conversations; empty: any."
    )
    language: str | None = Field(default=None, max_length=16)
    required_skills: list[str] = Field(default_factory=list, max_length=50)
    optional_skills: list[str] = Field(
        default_factory=list, max_length=50, description="Dropped once the overflow time passes."
    )
    priority: int = Field(default=0, ge=-1000, le=1000)
    sla_seconds: int = Field(default=60, ge=1)
    overflow_seconds: int | None = Field(default=None, ge=0)
    overflow_queue: str | None = Field(default=None, min_length=1, max_length=128)
    max_waiting: int | None = Field(default=None, ge=0)
    offer_timeout_seconds: int | None = Field(default=None, ge=1)
    reply_timeout_seconds: int | None = Field(default=None, ge=1)
    on_agent_offline: Literal["keep", "requeue"] = "keep"


class QueueCreate(QueueFields):
    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")
    channel: Channel


class QueueUpdate(_Body):
    providers: list[str] | None = None
    language: str | None = Field(default=None, max_length=16)
    required_skills: list[str] | None = None
    optional_skills: list[str] | None = None
    priority: int | None = Field(default=None, ge=-1000, le=1000)
    sla_seconds: int | None = Field(default=None, ge=1)
    overflow_seconds: int | None = Field(default=None, ge=0)
    overflow_queue: str | None = Field(default=None, min_length=1, max_length=128)
    max_waiting: int | None = Field(default=None, ge=0)
    offer_timeout_seconds: int | None = Field(default=None, ge=1)
    reply_timeout_seconds: int | None = Field(default=None, ge=1)
    on_agent_offline: Literal["keep", "requeue"] | None = None


class QueueOut(_Out):
    id: uuid.UUID
    name: str
    channel: str
    providers: list[str]
    language: str | None
    required_skills: list[str]
    optional_skills: list[str]
    priority: int
    sla_seconds: int
    overflow_seconds: int | None
    overflow_queue_id: uuid.UUID | None
    max_waiting: int | None
    offer_timeout_seconds: int | None
    reply_timeout_seconds: int | None
    on_agent_offline: str


class QueueLoad(_Out):
    name: str
    channel: str
    waiting: int
    offered: int
    assigned: int
    longest_wait_seconds: float


class Overview(_Out):
    queues: list[QueueLoad]
    unplaced: int = Field(description="Conversations no queue has taken yet.")
    agents_by_status: dict[str, int]


class IdentityOut(_Out):
    id: uuid.UUID
    namespace: str
    value: str
    verified: bool
    channel: str


class ContactOut(_Out):
    id: uuid.UUID
    display_name: str | None
    last_agent_id: uuid.UUID | None
    identities: list[IdentityOut]
    conversations: int


class MergeBody(_Body):
    source_id: uuid.UUID
    target_id: uuid.UUID


class SplitBody(_Body):
    identity_ids: list[uuid.UUID] = Field(min_length=1)
