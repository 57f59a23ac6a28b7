"""The flood limits' arithmetic and memory, on a clock of the test's own."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from services.chat.limits import RateLimiter, admit, client_address
from services.chat.settings import ChatSettings
from shared.errors import TooManyRequests


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_minute_at_once_then_refills_evenly() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)
    for _ in range(60):
        assert limiter.wait_s("a") == 0
        limiter.take("a")
    assert limiter.wait_s("a") == pytest.approx(1.0)
    clock.now += 1
    assert limiter.wait_s("a") == 0


def test_idle_keys_are_forgotten_and_memory_is_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(10, max_keys=100, clock=clock)
    for index in range(1000):
        limiter.take(f"address-{index}")
    assert len(limiter) <= 100
    clock.now += 60  # every bucket full again: nothing worth remembering
    limiter.take("late")
    assert len(limiter) == 1


def test_a_refused_request_spends_nothing() -> None:
    clock = Clock()
    sessions, site = RateLimiter(10, clock=clock), RateLimiter(1, clock=clock)
    admit([(sessions, "a", "sessions"), (site, "s", "sessions of this site")])
    with pytest.raises(TooManyRequests) as refused:
        admit([(sessions, "a", "sessions"), (site, "s", "sessions of this site")])
    assert refused.value.headers == {"Retry-After": "60"}
    for _ in range(9):  # the refused call took none of the address's ten
        admit([(sessions, "a", "sessions")])
    assert sessions.wait_s("a") > 0


def request_from(peer: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("203.0.113.5", "10.0.0.1", "", "203.0.113.5"),
        ("203.0.113.5", "10.0.0.1", "10.0.0.0/8", "203.0.113.5"),
        ("10.0.0.2", "198.51.100.1, 203.0.113.9", "10.0.0.0/8", "203.0.113.9"),
        ("10.0.0.2", "198.51.100.1, 203.0.113.9, 10.0.0.7", "10.0.0.0/8", "203.0.113.9"),
        ("10.0.0.2", None, "10.0.0.0/8", "10.0.0.2"),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(
    peer: str, forwarded: str | None, trusted: str, client: str
) -> None:
    networks = ChatSettings(trusted_proxies=trusted).trusted_proxy_networks
    assert client_address(request_from(peer, forwarded), networks) == client
