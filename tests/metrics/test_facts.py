"""A conversation's fact and contributions do not depend on the order its events arrive in."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from services.metrics.contributions import Deltas, Thresholds, add_conversation
from services.metrics.facts import ConversationFact, apply_interaction, apply_routing
from shared.events import (
    CallDisposition,
    CallInfo,
    Channel,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    RoutingEvent,
    event_id_for,
)
from tests.metrics.scenario import SHORT_ABANDON_MS, THRESHOLD_MS, conversation_events, script_day

THRESHOLDS = Thresholds(service_level_ms=THRESHOLD_MS, short_abandon_ms=SHORT_ABANDON_MS)


def fold(key: str, events: list[Any]) -> ConversationFact:
    fact = ConversationFact(conversation_key=key)
    for event in events:
        if isinstance(event, InteractionEvent):
            apply_interaction(fact, event)
        else:
            apply_routing(fact, event)
    return fact


def test_any_arrival_order_gives_the_same_fact() -> None:
    rng = random.Random(7)
    for script in script_day(11, conversations_per_channel=25).scripts:
        events = conversation_events(script, rng)
        in_order = fold(script.key, sorted(events, key=lambda e: e.occurred_at))
        for _ in range(5):
            shuffled = events[:]
            rng.shuffle(shuffled)
            assert fold(script.key, shuffled) == in_order, script.key


def test_retracting_a_fact_cancels_its_contribution() -> None:
    rng = random.Random(8)
    for script in script_day(12, conversations_per_channel=10).scripts:
        fact = fold(script.key, conversation_events(script, rng))
        deltas = Deltas()
        add_conversation(deltas, fact, THRESHOLDS, 1)
        assert list(deltas.rows())
        add_conversation(deltas, fact, THRESHOLDS, -1)
        assert list(deltas.rows()) == []


def test_a_bot_reply_does_not_stop_the_first_response_clock() -> None:
    rng = random.Random(9)
    scripts = [s for s in script_day(13).scripts if s.bot_replies and s.replies]
    assert scripts
    for script in scripts:
        fact = fold(script.key, conversation_events(script, rng))
        assert fact.first_reply_at == min(script.replies)[0]
        assert fact.first_reply_agent == min(script.replies)[1]


def test_a_voicemail_is_no_abandon_and_no_answer() -> None:
    start = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    key = "twilio_voice:CAvoicemail"

    def call(kind: EventType, at: datetime, info: CallInfo) -> InteractionEvent:
        return InteractionEvent(
            event_id=event_id_for("twilio_voice", "CAvoicemail", kind),
            type=kind,
            channel=Channel.PHONE,
            provider="twilio_voice",
            direction=Direction.INBOUND,
            occurred_at=at,
            received_at=at,
            customer=Customer(id="+14155550123", kind="phone"),
            conversation_key=key,
            call=info,
        )

    def step(kind: LifecycleStep) -> RoutingEvent:
        return RoutingEvent(
            event_id=event_id_for("routing", key, kind),
            type=kind,
            occurred_at=start,
            conversation_key=key,
            channel=Channel.PHONE,
            queue="phone-support",
        )

    ended = CallInfo(
        queue_wait_seconds=40,
        disposition=CallDisposition.VOICEMAIL,
        recording_ref="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
    )
    fact = fold(
        key,
        [
            call(EventType.CALL_STARTED, start, CallInfo()),
            step(LifecycleStep.OPENED),
            step(LifecycleStep.QUEUED),
            step(LifecycleStep.OUT_OF_HOURS),
            call(EventType.CALL_ENDED, start + timedelta(seconds=40), ended),
        ],
    )
    assert fact.abandoned_at is None
    assert fact.answered_at is None
    deltas = Deltas()
    add_conversation(deltas, fact, THRESHOLDS, 1)
    measures = {str(row["measure"]) for row in deltas.rows()}
    # Counted as a contact that queued; neither answered nor abandoned.
    assert measures == {"conversations", "queued"}
