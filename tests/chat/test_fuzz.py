"""Property tests of the chat parsers: generic-webhook messages and Slack events, real ones
broken at random and random bodies, give events that survive their own JSON or a 4xx; never
another exception (a 500)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.chat import slack
from services.chat.schemas import generic_messages
from services.chat.service import normalize_generic
from shared.clock import utc_now
from shared.errors import SwitchboardError, invalid_body
from shared.events import InteractionEvent
from tests.support.fixtures import FIXTURES
from tests.support.mutations import assert_events_or_4xx, json_values, mutated

SLACK: dict[str, Any] = json.loads((FIXTURES / "chat" / "slack_message.json").read_text())
GENERIC: dict[str, Any] = {
    "message_id": "m-1",
    "conversation_id": "c-1",
    "sender": {"id": "u-42", "name": "Ada", "email": "ada@example.com"},
    "text": "Hello, my order is late",
    "sent_at": "2026-03-03T10:00:00+01:00",
    "direction": "inbound",
    "source": "widget",
}
bodies = st.binary(max_size=300) | json_values.map(lambda value: json.dumps(value).encode())


def generic_events(body: bytes) -> list[InteractionEvent]:
    """What the generic webhook publishes for a body whose signature holds."""
    try:
        messages = generic_messages(body)
    except ValidationError as exc:
        raise invalid_body(exc) from None
    received_at = utc_now()
    return [normalize_generic(message, received_at=received_at) for message in messages]


def slack_events(body: bytes) -> list[InteractionEvent]:
    """What the Slack endpoint publishes for a verified body (a retry aside)."""
    try:
        envelope = slack.SlackEnvelope.model_validate_json(body)
        event = envelope.event
        message = None if event is None else slack.SlackMessage.model_validate(event)
    except ValidationError as exc:
        raise invalid_body(exc) from None
    publishable = envelope.type == "event_callback" and envelope.event_id
    if message is None or not publishable or slack.ignored_because(message) is not None:
        return []
    return [slack.to_event(envelope, message, received_at=utc_now())]


def test_the_real_payloads_give_events() -> None:
    assert assert_events_or_4xx(generic_events, json.dumps(GENERIC).encode())
    batch = {"messages": [GENERIC, {**GENERIC, "message_id": "m-2"}]}
    assert len(assert_events_or_4xx(generic_events, json.dumps(batch).encode())) == 2
    assert assert_events_or_4xx(slack_events, json.dumps(SLACK).encode())


@settings(max_examples=200, deadline=None)
@given(
    payload=mutated(GENERIC)
    | st.builds(lambda ms: {"messages": ms}, st.lists(mutated(GENERIC), min_size=1, max_size=3))
)
def test_a_broken_generic_message_gives_events_or_a_4xx(payload: dict[str, Any]) -> None:
    assert_events_or_4xx(generic_events, json.dumps(payload).encode())


@settings(max_examples=200, deadline=None)
@given(payload=mutated(SLACK))
def test_a_broken_slack_event_gives_events_or_a_4xx(payload: dict[str, Any]) -> None:
    assert_events_or_4xx(slack_events, json.dumps(payload).encode())


@settings(max_examples=100, deadline=None)
@given(body=bodies)
def test_any_body_gives_events_or_a_4xx(body: bytes) -> None:
    assert_events_or_4xx(generic_events, body)
    assert_events_or_4xx(slack_events, body)


def test_a_slack_ts_past_year_9999_gets_a_4xx() -> None:
    """Twelve-digit seconds used to pass the ts pattern and then raise in the parser."""
    body = {**SLACK, "event": {**SLACK["event"], "ts": "999999999999.000100"}}
    with pytest.raises(SwitchboardError) as refused:
        slack_events(json.dumps(body).encode())
    assert refused.value.status_code == 400
    assert "ts" in json.dumps(refused.value.detail)
