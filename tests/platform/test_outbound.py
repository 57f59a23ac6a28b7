"""The outbound library's rules that need no provider: token buckets, HTTP outcomes, settings."""

from __future__ import annotations

import httpx
import pytest
from aiokafka import ConsumerRecord
from pydantic import ValidationError

from shared.events import INTERACTIONS_TOPIC, Direction, EventType
from shared.outbound import Failed, OutboundSettings, RateLimits, Retry, Sent, outcome_of
from shared.outbound.wiring import may_be_reply
from tests.factories import interaction


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_one_token_a_second_and_others_are_not_held_back() -> None:
    clock = Clock()
    limits = RateLimits(clock)
    assert limits.take([("slack:C1", 1.0)]) == 0
    assert limits.take([("slack:C1", 1.0)]) == pytest.approx(1.0)
    assert limits.take([("slack:C2", 1.0)]) == 0
    clock.now += 0.5
    assert limits.take([("slack:C1", 1.0)]) == pytest.approx(0.5)
    clock.now += 0.5
    assert limits.take([("slack:C1", 1.0)]) == 0


def test_a_delivery_takes_from_every_bucket_or_from_none() -> None:
    clock = Clock()
    limits = RateLimits(clock)
    assert limits.take([("chat:1", 1.0)]) == 0
    # The bot's bucket has tokens, the chat's has none: the bot's is left untouched.
    assert limits.take([("bot", 30.0), ("chat:1", 1.0)]) == pytest.approx(1.0)
    assert [limits.take([("bot", 30.0)]) for _ in range(30)] == [0] * 30
    assert limits.take([("bot", 30.0)]) > 0


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (200, {}, Sent("m-1")),
        (202, {}, Sent("m-1")),
        (429, {"Retry-After": "7"}, Retry('HTTP 429: {"error":"x"}', 7.0)),
        (503, {}, Retry('HTTP 503: {"error":"x"}', 0.0)),
        (408, {}, Retry('HTTP 408: {"error":"x"}', 0.0)),
        (400, {}, Failed('HTTP 400: {"error":"x"}')),
        (404, {"Retry-After": "3"}, Failed('HTTP 404: {"error":"x"}')),
    ],
)
def test_the_http_status_decides_the_outcome(
    status: int, headers: dict[str, str], expected: object
) -> None:
    response = httpx.Response(status, headers=headers, content=b'{"error":"x"}')
    assert outcome_of(response, message_id="m-1") == expected


def test_a_lease_shorter_than_a_call_is_refused() -> None:
    with pytest.raises(ValidationError, match="OUTBOUND_LEASE_S"):
        OutboundSettings(outbound_lease_s=5, outbound_timeout_s=10)


def test_only_records_holding_a_reply_are_decoded() -> None:
    """The outbound consumer's pre-filter: it must pass every reply as we serialize it."""
    reply = interaction(
        type=EventType.MESSAGE_SENT, direction=Direction.OUTBOUND, agent_id="agent-1"
    )
    received = interaction()

    def record(value: bytes, key: bytes = b"slack:C1:1") -> ConsumerRecord:
        return ConsumerRecord(INTERACTIONS_TOPIC, 0, 0, 0, 0, key, value, None, 0, 0, [])

    slack_only = may_be_reply(lambda r: r.key is not None and r.key.startswith(b"slack:"))
    assert may_be_reply(None)(record(reply.to_json()))
    assert slack_only(record(reply.to_json()))
    assert not slack_only(record(reply.to_json(), key=b"email:thread"))
    assert not may_be_reply(None)(record(received.to_json()))
