"""Routing's domain: conversations, queues, agents, offers and contacts, and their states.

The enums' values are the strings stored in the database and shown by the API.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypedDict

from shared.events import Role


class ConversationStatus(StrEnum):
    QUEUED = "queued"
    OFFERED = "offered"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    ABANDONED = "abandoned"


#: A conversation in one of these is open: at most one per conversation key.
OPEN_STATUSES = (ConversationStatus.QUEUED, ConversationStatus.OFFERED, ConversationStatus.ASSIGNED)
CLOSED_STATUSES = (ConversationStatus.RESOLVED, ConversationStatus.ABANDONED)
#: Conversations that count against a queue's ``max_waiting``.
WAITING_STATUSES = (ConversationStatus.QUEUED, ConversationStatus.OFFERED)


class OfferState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


class AgentStatus(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    AWAY = "away"
    OFFLINE = "offline"
    #: After-contact work: set by routing after a resolve in a queue with ``wrap_up_seconds``.
    WRAP_UP = "wrap_up"


#: Statuses in which an agent takes no new work: their pending offers go back at once.
UNREACHABLE = (AgentStatus.AWAY, AgentStatus.OFFLINE)


class OnAgentOffline(StrEnum):
    """What happens to a queue's assigned conversations when their agent goes offline."""

    KEEP = "keep"
    REQUEUE = "requeue"


@dataclass(eq=False)
class Queue:
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
    on_agent_offline: OnAgentOffline
    created_at: datetime
    #: After-contact work an agent may take after resolving one of its conversations.
    wrap_up_seconds: int | None = None
    #: Opening hours (:class:`shared.events.Schedule` as JSON); None: always open.
    schedule: dict[str, Any] | None = None
    #: Sent once to a conversation that opens outside the opening hours.
    closed_message: str | None = None
    #: The survey question sent after a resolve: ``csat`` or ``nps``, and its text.
    survey_kind: str | None = None
    survey_message: str | None = None

    def __post_init__(self) -> None:
        self.on_agent_offline = OnAgentOffline(self.on_agent_offline)  # rows carry the string

    def placement(self, at: datetime) -> "ConversationChanges":
        """What changes in a conversation that starts waiting in this queue at ``at``."""
        overflow = self.overflow_seconds
        return {
            "status": ConversationStatus.QUEUED,
            "queue_id": self.id,
            "priority": self.priority,
            "queued_at": at,
            "sla_deadline": at + timedelta(seconds=self.sla_seconds),
            "overflow_at": at + timedelta(seconds=overflow) if overflow is not None else None,
            "optional_skills_dropped": False,
        }


class QueueRules(TypedDict, total=False):
    """The settable rules of a queue (every one on creation, some on a change)."""

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
    on_agent_offline: OnAgentOffline
    wrap_up_seconds: int | None
    schedule: dict[str, Any] | None
    closed_message: str | None
    survey_kind: str | None
    survey_message: str | None


@dataclass(eq=False)
class Agent:
    id: uuid.UUID
    name: str
    skills: list[str]
    languages: list[str]
    capacity: dict[str, int]
    status: AgentStatus
    status_changed_at: datetime
    last_idle_at: datetime
    consecutive_timeouts: int
    created_at: datetime
    #: Where the agent takes calls (E.164 number, sip: or client: address), if anywhere.
    phone_address: str | None = None
    #: agent or supervisor: a supervisor also takes conversations.
    role: Role = Role.AGENT

    def __post_init__(self) -> None:
        self.status = AgentStatus(self.status)  # rows carry the string
        self.role = Role(self.role)

    def room_on(self, channel: str) -> int:
        """How many conversations of ``channel`` the agent can hold at once."""
        return int(self.capacity.get(channel, 0))


class AgentChanges(TypedDict, total=False):
    name: str
    skills: list[str]
    languages: list[str]
    capacity: dict[str, int]
    status: AgentStatus
    status_changed_at: datetime
    last_idle_at: datetime
    consecutive_timeouts: int
    phone_address: str | None
    role: Role


@dataclass(eq=False)
class AvailableAgent:
    """An available agent with room on a channel, as the matcher reads it (without a lock)."""

    id: uuid.UUID
    skills: list[str]
    languages: list[str]
    last_idle_at: datetime
    #: Room on the channel.
    capacity: int
    #: Conversations of the channel held.
    load: int


@dataclass(eq=False)
class Conversation:
    id: uuid.UUID
    conversation_key: str
    channel: str
    provider: str
    customer_id: str
    customer_kind: str
    contact_id: uuid.UUID | None
    language: str | None
    status: ConversationStatus
    opened_at: datetime
    #: When the current open spell began (opening or the last reopening).
    cycle_started_at: datetime
    last_inbound_at: datetime
    inbound_count: int = 1
    reopen_count: int = 0
    priority: int = 0
    optional_skills_dropped: bool = False
    queue_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    #: The agent who last accepted it: they still see it once it is resolved.
    last_agent_id: uuid.UUID | None = None
    queued_at: datetime | None = None
    sla_deadline: datetime | None = None
    overflow_at: datetime | None = None
    accepted_at: datetime | None = None
    first_reply_at: datetime | None = None
    reply_due_at: datetime | None = None
    resolved_at: datetime | None = None
    #: The name of its queue (not a column: read with it).
    queue_name: str | None = None

    def __post_init__(self) -> None:
        self.status = ConversationStatus(self.status)  # rows carry the string

    def apply(self, changes: "ConversationChanges") -> None:
        """Take ``changes`` (already written, or about to be) into this object."""
        for name, value in changes.items():
            setattr(self, name, value)


class ConversationChanges(TypedDict, total=False):
    """Columns of a conversation that change after it opens."""

    status: ConversationStatus
    language: str | None
    queue_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    last_agent_id: uuid.UUID | None
    priority: int
    queued_at: datetime | None
    sla_deadline: datetime | None
    overflow_at: datetime | None
    optional_skills_dropped: bool
    cycle_started_at: datetime
    last_inbound_at: datetime
    inbound_count: int
    reopen_count: int
    accepted_at: datetime | None
    first_reply_at: datetime | None
    reply_due_at: datetime | None
    resolved_at: datetime | None


@dataclass(eq=False)
class WaitingConversation:
    """A queued conversation as the matcher takes it, with what decides its agent."""

    conversation: Conversation
    #: The customer's last agent and when they accepted (sticky routing).
    contact_last_agent_id: uuid.UUID | None
    contact_last_agent_at: datetime | None
    #: Agents already offered it in its current open spell.
    tried: list[uuid.UUID]


@dataclass(eq=False)
class Offer:
    id: uuid.UUID
    conversation_id: uuid.UUID
    agent_id: uuid.UUID
    queue_id: uuid.UUID | None
    state: OfferState
    offered_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    note: str | None

    def __post_init__(self) -> None:
        self.state = OfferState(self.state)  # rows carry the string


@dataclass(eq=False)
class PendingOffer(Offer):
    """An offer as the agent sees it, with the conversation it is for."""

    conversation_key: str
    channel: str


@dataclass(eq=False)
class Contact:
    """A customer, whatever channels they used."""

    id: uuid.UUID
    display_name: str | None
    created_at: datetime
    #: Sticky routing: the agent who last accepted one of this customer's conversations.
    last_agent_id: uuid.UUID | None
    last_agent_at: datetime | None


#: Identities a CRM or billing system names its customers by: ``crm:<source>``.
CRM_NAMESPACE_PREFIX = "crm:"


@dataclass(eq=False)
class Identity:
    """How a channel knows a contact."""

    id: uuid.UUID
    contact_id: uuid.UUID
    namespace: str
    value: str
    verified: bool
    channel: str
    created_at: datetime


@dataclass(frozen=True)
class SeenIdentity:
    """An identity as an interaction shows it: its contact is found or created from it."""

    namespace: str
    value: str
    verified: bool
    channel: str
    display_name: str | None
    at: datetime


@dataclass(eq=False)
class ContactCard:
    """A contact with its identities and how many conversations it has."""

    id: uuid.UUID
    display_name: str | None
    last_agent_id: uuid.UUID | None
    identities: list[Identity]
    conversations: int


@dataclass(frozen=True)
class QueueLoad:
    name: str
    channel: str
    waiting: int
    offered: int
    assigned: int
    longest_wait_seconds: float


@dataclass(frozen=True)
class Overview:
    """Waiting and longest wait per queue, and how many agents are in each status."""

    queues: list[QueueLoad]
    unplaced: int
    agents_by_status: dict[str, int]


class Author(StrEnum):
    """Who wrote a message of a transcript."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    #: An agent's internal note: shown to agents, never sent to the customer.
    NOTE = "note"


#: The direction of an internal note: it goes neither in nor out.
INTERNAL = "internal"


class DeliveryStatus(StrEnum):
    """Where an outbound message is on its way to the customer."""

    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


#: How far each status got; ``failed`` stands apart (see :func:`status_advances`).
_PROGRESS = {
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.DELIVERED: 2,
    DeliveryStatus.READ: 3,
}


def status_advances(current: DeliveryStatus, new: DeliveryStatus) -> bool:
    """Whether a delivery status report moves an outbound message from ``current`` to ``new``.

    Statuses never move backwards: read > delivered > sent > pending, so a receipt that
    arrives late (``delivered`` after ``read``) changes nothing. ``failed`` replaces only
    pending and sent (a message the customer received did not fail) and is final, except
    that a later ``sent``, ``delivered`` or ``read`` wins over it: the provider took a
    retried send after all. A repeated status changes nothing (the first reason stays).
    """
    if new is current:
        return False
    if new is DeliveryStatus.FAILED:
        return _PROGRESS[current] < _PROGRESS[DeliveryStatus.DELIVERED]
    if current is DeliveryStatus.FAILED:
        return new is not DeliveryStatus.PENDING
    return _PROGRESS[new] > _PROGRESS[current]


@dataclass(eq=False)
class Message:
    """One message of a conversation's transcript, inbound or outbound."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    conversation_key: str
    #: The interaction that carried it (for an agent's reply: its message.sent).
    event_id: uuid.UUID
    direction: str
    author: Author
    at: datetime
    agent_id: uuid.UUID | None = None
    text: str | None = None
    stripped_text: str | None = None
    subject: str | None = None
    attachments: list[dict[str, object]] = field(default_factory=list)
    #: The provider's id of the message (of an agent's reply: once the connector sent it).
    raw_ref: str | None = None
    #: Delivery of an outbound message; None for inbound ones.
    status: DeliveryStatus | None = None
    status_reason: str | None = None
    status_at: datetime | None = None
    #: The cursor: messages are read in this order (None until stored).
    seq: int | None = None

    def __post_init__(self) -> None:
        self.author = Author(self.author)  # rows carry the strings
        if self.status is not None:
            self.status = DeliveryStatus(self.status)


#: The roles an agent can have; the others (service, wall) are machines'.
PEOPLE_ROLES = (Role.AGENT, Role.SUPERVISOR)
#: The roles a machine's token can have.
MACHINE_ROLES = (Role.SERVICE, Role.WALL)


@dataclass(eq=False)
class Credential:
    """A bearer token's record (the token itself is shown once, when issued)."""

    id: uuid.UUID
    secret_sha256: str
    agent_id: uuid.UUID | None
    #: A machine's role; None for an agent's token, whose role is the agent's.
    role: Role | None
    name: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.role is not None:
            self.role = Role(self.role)

    def live_at(self, at: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > at)


@dataclass(frozen=True)
class Label:
    """A label agents may put on conversations; a retired one stays on those that have it."""

    name: str
    description: str | None
    created_at: datetime
    retired_at: datetime | None = None
