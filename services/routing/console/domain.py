"""What the console shows: an agent's workspace, canned responses, the supervisor's view."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class OfferCard:
    """A pending offer as the console shows it: who, on which channel, their first words."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    channel: str
    provider: str
    queue: str | None
    customer_name: str
    preview: str | None
    offered_at: datetime
    expires_at: datetime
    note: str | None


@dataclass(frozen=True)
class ConversationCard:
    """A conversation the agent holds, with its customer and its clocks."""

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
    #: When an agent last replied (None: not yet): the customer waits if they wrote since.
    last_reply_at: datetime | None
    #: The labels it carries, by name.
    labels: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CannedResponse:
    id: uuid.UUID
    queue_id: uuid.UUID | None
    queue: str | None
    shortcut: str
    text: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Colleague:
    """Another agent, as a transfer target."""

    id: uuid.UUID
    name: str
    status: str


@dataclass(frozen=True)
class QueueHealth:
    """A queue's load now and its service level over the last hour (None: nothing answered
    or missed in that hour)."""

    name: str
    channel: str
    waiting: int
    offered: int
    assigned: int
    longest_wait_seconds: float
    service_level: float | None
    sla_seconds: int


@dataclass(frozen=True)
class AgentLoad:
    id: uuid.UUID
    name: str
    status: str
    status_changed_at: datetime
    capacity: dict[str, int]
    load: dict[str, int]


@dataclass(frozen=True)
class WaitingCard:
    """A conversation waiting in a queue, which a supervisor can offer to an agent."""

    id: uuid.UUID
    channel: str
    queue: str | None
    customer_name: str
    queued_at: datetime | None
    sla_deadline: datetime | None
