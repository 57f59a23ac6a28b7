"""Conversation lifecycle events, published by routing on ``routing.v1``."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events.interaction import Channel, UtcDatetime
from shared.events.schedule import Schedule

__all__ = ["ROUTING_TOPIC", "LifecycleStep", "RoutingEvent"]

ROUTING_TOPIC = "routing.v1"


class LifecycleStep(StrEnum):
    OPENED = "conversation.opened"
    QUEUED = "conversation.queued"
    OFFERED = "conversation.offered"
    ASSIGNED = "conversation.assigned"
    ACCEPTED = "conversation.accepted"
    DECLINED = "conversation.declined"
    TIMED_OUT = "conversation.timed_out"
    TRANSFERRED = "conversation.transferred"
    FIRST_REPLY = "conversation.first_reply"
    RESOLVED = "conversation.resolved"
    REOPENED = "conversation.reopened"
    ABANDONED = "conversation.abandoned"
    REQUEUED = "conversation.requeued"
    AGENT_STATUS_CHANGED = "agent.status_changed"
    WRAPPED_UP = "conversation.wrapped_up"
    AGENT_ACTIVITY_CHANGED = "agent.activity_changed"
    LABELED = "conversation.labeled"
    CONTACT_CHANGED = "conversation.contact_changed"
    CONTACT_MERGED = "contact.merged"
    OUT_OF_HOURS = "conversation.out_of_hours"


class RoutingEvent(BaseModel):
    """One step of a conversation's life, stamped with when it happened."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    schema_version: int = Field(default=1, ge=1, le=1)
    type: LifecycleStep
    occurred_at: UtcDatetime
    conversation_id: uuid.UUID | None = Field(
        default=None,
        description="Set on every conversation.* step; None on agent.* and contact.* steps.",
    )
    conversation_key: str | None = Field(default=None, min_length=1, max_length=512)
    contact_id: uuid.UUID | None = Field(
        default=None,
        description="On conversation.* steps: the conversation's contact at the time of the "
        "step (on conversation.contact_changed, its new contact). On contact.merged: the "
        "surviving contact. None on agent.* steps.",
    )
    merged_contact_id: uuid.UUID | None = Field(
        default=None,
        description="On contact.merged: the contact absorbed into contact_id, which no "
        "longer exists.",
    )
    channel: Channel | None = None
    queue: str | None = None
    agent_id: str | None = None
    previous_agent_id: str | None = None
    cause_event_id: uuid.UUID | None = Field(
        default=None, description="The interaction event that caused this step, if any."
    )
    agent_status: str | None = Field(
        default=None,
        description="On agent.status_changed: available, busy, away, offline or wrap_up. On "
        "agent.activity_changed: handling, wrap_up, idle or off.",
    )
    note: str | None = None
    agent_address: str | None = Field(
        default=None,
        max_length=256,
        description="On conversation.accepted of a phone conversation: where the agent takes "
        "calls (E.164 number, sip: or client: address), for the connector to connect the caller.",
    )
    wrap_up_seconds: float | None = Field(
        default=None,
        ge=0,
        description="On conversation.wrapped_up: how long the agent's after-contact work on "
        "the conversation lasted.",
    )
    queue_schedule: Schedule | None = Field(
        default=None,
        description="On conversation.queued and .requeued: the opening hours of the queue, "
        "when it has some, for the business-hours KPIs.",
    )
    labels: list[str] | None = Field(
        default=None,
        description="On conversation.labeled: every label the conversation carries after the "
        "change (sorted; empty when the last one was taken off), not a delta, so a redelivered "
        "or reordered step is harmless: the latest by occurred_at, then event_id, wins.",
    )
    closed_message: str | None = Field(
        default=None,
        max_length=2000,
        description="On conversation.out_of_hours: the queue's closed message, what the "
        "customer is told (a caller hears it before the voicemail); None: the queue has none.",
    )
    survey_tokens: dict[str, str] | None = Field(
        default=None,
        description="On conversation.resolved: a signed token per survey kind (csat, nps) "
        "that lets the customer answer POST /surveys for this conversation until it expires.",
    )

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> RoutingEvent:
        return cls.model_validate_json(data)
