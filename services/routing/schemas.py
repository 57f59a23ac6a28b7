"""Request and response bodies of the routing API."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.routing.domain import Message
from shared.events import Channel, Schedule

#: The statuses of :class:`services.routing.domain.AgentStatus`, as the API takes them.
StatusName = Literal["available", "busy", "away", "offline"]
#: The roles of people (agents) and of machines' tokens.
PersonRole = Literal["agent", "supervisor"]
MachineRole = Literal["service", "wall"]

#: Where an agent takes calls: an E.164 number, a SIP address or a Twilio Client identity.
PhoneAddress = Annotated[
    str,
    StringConstraints(
        max_length=256,
        pattern=r"^(\+[1-9][0-9]{6,14}|sip:[^\s@]+@[^\s@]+|client:[A-Za-z0-9_.\-]+)$",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- agent ---------------------------------------------------------------------


class StatusChange(_Body):
    status: StatusName


class WhatsAppTemplate(_Body):
    name: str = Field(min_length=1, max_length=512)
    language: str = Field(min_length=2, max_length=16, examples=["en_US"])


class ReplyBody(_Body):
    text: str = Field(min_length=1, max_length=64 * 1024)
    reply_id: uuid.UUID | None = Field(
        default=None, description="Your id for this reply: sending it again changes nothing."
    )
    template: WhatsAppTemplate | None = Field(
        default=None,
        description="An approved WhatsApp template, to write after the 24-hour window closed.",
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
    phone_address: str | None = None
    role: str = "agent"


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


class MessageOut(_Out):
    id: uuid.UUID
    seq: int = Field(description="The message's cursor: ask for `after=` it for what follows.")
    direction: str
    author: str = Field(description="customer, agent, bot, auto_reply or bounce.")
    agent_id: uuid.UUID | None
    at: datetime
    text: str | None
    stripped_text: str | None
    subject: str | None
    attachments: list[dict[str, Any]]
    raw_ref: str | None = Field(description="The provider's id of the message, once known.")
    status: str | None = Field(description="Of a reply: pending, sent, delivered, read, failed.")
    status_reason: str | None
    status_at: datetime | None


class MessagePage(BaseModel):
    messages: list[MessageOut] = Field(description="Oldest first.")
    next_after: int = Field(description="The cursor of the next page (`after=`).")


DEFAULT_PAGE = 50
AfterQuery = Annotated[int, Query(ge=0, description="The cursor: messages after this seq.")]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="At most this many messages.")]


def message_page(found: list[Message], *, after: int) -> MessagePage:
    """A page of messages, with the cursor that follows it (``after`` again when empty)."""
    messages = [MessageOut.model_validate(m) for m in found]
    return MessagePage(messages=messages, next_after=messages[-1].seq if messages else after)


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
    phone_address: PhoneAddress | None = Field(
        default=None, description="Where the agent takes calls: E.164, sip: or client:."
    )
    role: PersonRole = Field(
        default="agent", description="A supervisor also sees the queues and steers the team."
    )

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
    phone_address: PhoneAddress | None = Field(
        default=None, description="Where the agent takes calls; null removes it."
    )
    role: PersonRole | None = None

    @model_validator(mode="after")
    def _non_negative(self) -> "AgentUpdate":
        if self.capacity and any(v < 0 or v > 1000 for v in self.capacity.values()):
            raise ValueError("capacity must be between 0 and 1000")
        return self


class AgentCreated(BaseModel):
    agent: AgentOut
    token: str = Field(description="The agent's bearer token; shown only now.")


# -- tokens --------------------------------------------------------------------

#: A token may be made to expire; without ``valid_for_s`` it lasts until revoked.
ValidFor = Annotated[int | None, Field(default=None, ge=60, le=10 * 365 * 24 * 3600)]


class AgentTokenCreate(_Body):
    name: str = Field(default="token", min_length=1, max_length=256)
    valid_for_s: ValidFor = None
    revoke_others: bool = Field(
        default=False, description="Revoke the agent's other tokens: a rotation in one call."
    )


class MachineTokenCreate(_Body):
    role: MachineRole = Field(description="service: another system; wall: a read-only screen.")
    name: str = Field(min_length=1, max_length=256)
    valid_for_s: ValidFor = None


class TokenOut(_Out):
    id: uuid.UUID
    agent_id: uuid.UUID | None
    role: str | None = Field(description="A machine's role; null for an agent's token.")
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(BaseModel):
    credential: TokenOut
    token: str = Field(description="The bearer token; shown only now.")


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
    wrap_up_seconds: int | None = Field(
        default=None,
        ge=0,
        le=3600,
        description="After-contact work after a resolve: the agent is in wrap_up (no new offers "
        "on the channel) for up to this long, or until they set themselves available; "
        "0 or null: none.",
    )
    schedule: Schedule | None = Field(
        default=None, description="Opening hours; null: always open (docs: Business hours)."
    )
    closed_message: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="Sent once, as an automated message, to a conversation opened while the "
        "queue is closed.",
    )
    survey_kind: Literal["csat", "nps"] | None = Field(
        default=None, description="The survey question sent after a resolve; null: none."
    )
    survey_message: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="The survey question; {link} becomes the signed survey link.",
    )


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
    wrap_up_seconds: int | None = Field(default=None, ge=0, le=3600)
    schedule: Schedule | None = None
    closed_message: str | None = Field(default=None, min_length=1, max_length=2000)
    survey_kind: Literal["csat", "nps"] | None = None
    survey_message: str | None = Field(default=None, min_length=1, max_length=2000)


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
    wrap_up_seconds: int | None
    schedule: dict[str, Any] | None
    closed_message: str | None
    survey_kind: str | None
    survey_message: str | None


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


class ErasureOut(_Out):
    erasure_id: uuid.UUID
    contact_id: uuid.UUID
    conversations: int
    identities: int
    erased_at: datetime
