"""What each event teaches us about its conversation.

Every rule here is order-independent (earliest, latest, or a count of
distinct events), so a late or out-of-order event yields the same fact as if
it had arrived in time.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.events import (
    CallDisposition,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    RoutingEvent,
)

#: Phone events may carry these in ``provider_meta`` (seconds); talk comes from ``call``.
HOLD_META_KEY = "hold_seconds"
AFTER_CALL_META_KEY = "after_call_seconds"


@dataclass
class ConversationFact:
    """One row of ``conversation_fact``."""

    conversation_key: str
    conversation_id: uuid.UUID | None = None
    channel: str | None = None
    provider: str | None = None
    queue: str | None = None
    queue_at: datetime | None = None
    agent_id: str | None = None
    agent_at: datetime | None = None
    opened_at: datetime | None = None
    first_inbound_at: datetime | None = None
    first_reply_at: datetime | None = None
    first_reply_agent: str | None = None
    queued_at: datetime | None = None
    last_queued_at: datetime | None = None
    answered_at: datetime | None = None
    last_answered_at: datetime | None = None
    queue_wait_ms: int | None = None
    abandoned_at: datetime | None = None
    abandon_wait_ms: int | None = None
    first_resolved_at: datetime | None = None
    last_resolved_at: datetime | None = None
    reopen_count: int = 0
    last_reopened_at: datetime | None = None
    transfer_count: int = 0
    ended_at: datetime | None = None
    talk_ms: int | None = None
    hold_ms: int | None = None
    after_contact_ms: int | None = None
    csat_score: int | None = None
    csat_at: datetime | None = None
    nps_score: int | None = None
    nps_at: datetime | None = None
    wrap_up_ms: int | None = None
    wrap_up_at: datetime | None = None
    queue_schedule: str | None = None
    queue_schedule_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> ConversationFact:
        return cls(**{f.name: row[f.name] for f in dataclasses.fields(cls)})

    def as_row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def copy(self) -> ConversationFact:
        return dataclasses.replace(self)


def _earliest(current: datetime | None, new: datetime) -> datetime:
    return new if current is None or new < current else current


def _latest(current: datetime | None, new: datetime) -> datetime:
    return new if current is None or new > current else current


def _larger(current: int | None, new: int | None) -> int | None:
    if new is None:
        return current
    return new if current is None or new > current else current


def milliseconds(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _meta_ms(event: InteractionEvent, key: str) -> int | None:
    value = event.provider_meta.get(key)
    try:
        return milliseconds(float(value)) if value is not None else None
    except ValueError:
        return None


def _take_agent(fact: ConversationFact, agent_id: str | None, at: datetime) -> None:
    # The last holder wins; equal times are settled by the id so any order gives one answer.
    if agent_id is None:
        return
    if fact.agent_at is None or (at, agent_id) > (fact.agent_at, fact.agent_id or ""):
        fact.agent_id, fact.agent_at = agent_id, at


def _take_queue(fact: ConversationFact, queue: str | None, at: datetime) -> None:
    if queue is None:
        return
    if fact.queue_at is None or (at, queue) < (fact.queue_at, fact.queue or ""):
        fact.queue, fact.queue_at = queue, at


def _take_first_reply(fact: ConversationFact, agent_id: str | None, at: datetime) -> None:
    if agent_id is None:
        return
    current = (fact.first_reply_at, fact.first_reply_agent or "")
    if fact.first_reply_at is None or (at, agent_id) < current:
        fact.first_reply_at, fact.first_reply_agent = at, agent_id


def _abandon(fact: ConversationFact, at: datetime, wait_ms: int | None) -> None:
    if fact.abandoned_at is None or at < fact.abandoned_at:
        fact.abandoned_at = at
        fact.abandon_wait_ms = wait_ms if wait_ms is not None else fact.abandon_wait_ms
    elif at == fact.abandoned_at:
        fact.abandon_wait_ms = _larger(fact.abandon_wait_ms, wait_ms)


def apply_interaction(fact: ConversationFact, event: InteractionEvent) -> None:
    """Fold one interaction event into its conversation's fact."""
    at = event.occurred_at
    fact.channel = fact.channel or event.channel.value
    fact.provider = fact.provider or event.provider
    kind = event.type
    inbound = event.direction is Direction.INBOUND
    if kind in (EventType.MESSAGE_RECEIVED, EventType.CALL_STARTED) and inbound:
        if not event.automated:
            fact.first_inbound_at = _earliest(fact.first_inbound_at, at)
    elif kind is EventType.MESSAGE_SENT and not inbound:
        # Bots and auto-replies never stop the first-response clock.
        if not event.automated:
            _take_first_reply(fact, event.agent_id, at)
    elif kind is EventType.CALL_ANSWERED:
        fact.answered_at = _earliest(fact.answered_at, at)
        fact.last_answered_at = _latest(fact.last_answered_at, at)
        _take_agent(fact, event.agent_id, at)
        if event.call is not None:
            fact.queue_wait_ms = _larger(
                fact.queue_wait_ms, milliseconds(event.call.queue_wait_seconds)
            )
    elif kind is EventType.CALL_ENDED:
        _end_call(fact, event)
    elif kind is EventType.CUSTOMER_LEFT:
        _abandon(fact, at, None)
    elif kind is EventType.SURVEY_RESPONSE and event.survey is not None:
        _record_survey(fact, event.survey.kind, event.survey.score, at)


def _end_call(fact: ConversationFact, event: InteractionEvent) -> None:
    at = event.occurred_at
    fact.ended_at = _latest(fact.ended_at, at)
    call = event.call
    if call is None:
        return
    wait_ms = milliseconds(call.queue_wait_seconds)
    if call.disposition is CallDisposition.ABANDONED:
        _abandon(fact, at, wait_ms)
        return
    fact.queue_wait_ms = _larger(fact.queue_wait_ms, wait_ms)
    fact.talk_ms = _larger(fact.talk_ms, milliseconds(call.talk_seconds))
    fact.hold_ms = _larger(fact.hold_ms, _meta_ms(event, HOLD_META_KEY))
    fact.after_contact_ms = _larger(fact.after_contact_ms, _meta_ms(event, AFTER_CALL_META_KEY))


def _record_survey(fact: ConversationFact, kind: str, score: int, at: datetime) -> None:
    # A customer who answers twice is counted once, with their latest answer.
    if kind == "csat":
        if fact.csat_at is None or (at, score) > (fact.csat_at, fact.csat_score or 0):
            fact.csat_score, fact.csat_at = score, at
    elif fact.nps_at is None or (at, score) > (fact.nps_at, fact.nps_score or 0):
        fact.nps_score, fact.nps_at = score, at


def apply_routing(fact: ConversationFact, event: RoutingEvent) -> None:
    """Fold one conversation lifecycle step into its conversation's fact."""
    at = event.occurred_at
    fact.conversation_id = fact.conversation_id or event.conversation_id
    if event.channel is not None:
        fact.channel = fact.channel or event.channel.value
    _take_queue(fact, event.queue, at)
    if event.queue_schedule is not None:
        _take_schedule(fact, event.queue_schedule.model_dump_json(), at)
    step = event.type
    if step is LifecycleStep.OPENED:
        fact.opened_at = _earliest(fact.opened_at, at)
    elif step in (LifecycleStep.QUEUED, LifecycleStep.REQUEUED):
        if step is LifecycleStep.QUEUED:
            fact.queued_at = _earliest(fact.queued_at, at)
        fact.last_queued_at = _latest(fact.last_queued_at, at)
    elif step is LifecycleStep.ACCEPTED:
        fact.answered_at = _earliest(fact.answered_at, at)
        fact.last_answered_at = _latest(fact.last_answered_at, at)
        _take_agent(fact, event.agent_id, at)
    elif step is LifecycleStep.ASSIGNED:
        _take_agent(fact, event.agent_id, at)
    elif step is LifecycleStep.TRANSFERRED:
        fact.transfer_count += 1
        _take_agent(fact, event.agent_id, at)
    elif step is LifecycleStep.FIRST_REPLY:
        _take_first_reply(fact, event.agent_id, at)
    elif step is LifecycleStep.RESOLVED:
        fact.first_resolved_at = _earliest(fact.first_resolved_at, at)
        fact.last_resolved_at = _latest(fact.last_resolved_at, at)
    elif step is LifecycleStep.REOPENED:
        fact.reopen_count += 1
        fact.last_reopened_at = _latest(fact.last_reopened_at, at)
    elif step is LifecycleStep.ABANDONED:
        _abandon(fact, at, None)
    elif step is LifecycleStep.WRAPPED_UP:
        _take_wrap_up(fact, milliseconds(event.wrap_up_seconds), at)


def _take_schedule(fact: ConversationFact, schedule: str, at: datetime) -> None:
    # The earliest queue step's hours: the queue the conversation waited in first.
    current = (fact.queue_schedule_at, fact.queue_schedule or "")
    if fact.queue_schedule_at is None or (at, schedule) < current:
        fact.queue_schedule, fact.queue_schedule_at = schedule, at


def _take_wrap_up(fact: ConversationFact, ms: int | None, at: datetime) -> None:
    # The earliest wrap-up is the one after the first resolve, which handle time ends at.
    if ms is None:
        return
    if fact.wrap_up_at is None or (at, -ms) < (fact.wrap_up_at, -(fact.wrap_up_ms or 0)):
        fact.wrap_up_ms, fact.wrap_up_at = ms, at
