"""The outbound library's rules that need no provider: token buckets, HTTP outcomes, settings."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from shared.outbound import Failed, OutboundSettings, RateLimits, Retry, Sent, outcome_of


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
