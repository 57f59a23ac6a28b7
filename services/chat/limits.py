"""Flood limits of the public visitor API: rates per key, and open streams per key.

Each connector instance limits on its own, in memory: with N instances behind a load
balancer a client may get up to N times a limit. That bounds what one address can cost
each instance, which is the point; a shared store would be needed for an exact ceiling.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import ip_address

from starlette.requests import HTTPConnection

from services.chat.settings import ChatSettings, IPNetwork
from shared.errors import TooManyRequests

#: Keys a limiter remembers at most: past this, the longest idle is forgotten first.
MAX_KEYS = 100_000


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    """A token bucket per key: ``per_minute`` at once, refilled at ``per_minute`` a minute.

    Memory is bounded: keys idle long enough to be full again are forgotten (a new
    bucket is full too), and past ``max_keys`` the longest idle goes first.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_keys = max_keys
        self.clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def wait_s(self, key: str) -> float:
        """Seconds until ``key`` may act once more; 0 when it may now."""
        bucket = self._refilled(key)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.rate

    def take(self, key: str) -> None:
        """Spend one token of ``key`` (call after ``wait_s`` answered 0)."""
        self._refilled(key).tokens -= 1

    def _refilled(self, key: str) -> _Bucket:
        now = self.clock()
        self._forget_idle(now)
        bucket = self._buckets.pop(key, None) or _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        self._buckets[key] = bucket  # the most recently used last
        return bucket

    def _forget_idle(self, now: float) -> None:
        full_after_s = self.capacity / self.rate
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if len(self._buckets) < self.max_keys and now - oldest.at < full_after_s:
                return
            self._buckets.popitem(last=False)


def admit(limits: list[tuple[RateLimiter, str, str]]) -> None:
    """Spend a token of each ``(limiter, key, what)``, or none and raise 429 naming the first full.

    Checked all before any is spent, so a refused request costs its client nothing.
    """
    for limiter, key, what in limits:
        wait_s = limiter.wait_s(key)
        if wait_s > 0:
            raise TooManyRequests(
                f"too many {what}: try again later", retry_after_s=math.ceil(wait_s)
            )
    for limiter, key, _ in limits:
        limiter.take(key)


class OpenStreams:
    """How many streams each key holds open; a key without any is not remembered."""

    def __init__(self, most: int) -> None:
        self.most = most
        self._open: dict[str, int] = {}

    def try_open(self, key: str) -> bool:
        if self._open.get(key, 0) >= self.most:
            return False
        self._open[key] = self._open.get(key, 0) + 1
        return True

    def close(self, key: str) -> None:
        left = self._open.get(key, 0) - 1
        if left > 0:
            self._open[key] = left
        else:
            self._open.pop(key, None)


class VisitorLimits:
    """Every flood limit of the visitor API, from the settings."""

    def __init__(self, settings: ChatSettings) -> None:
        self.sessions_per_address = RateLimiter(settings.sessions_per_minute_per_address)
        self.sessions_per_origin = RateLimiter(settings.sessions_per_minute_per_origin)
        self.messages_per_session = RateLimiter(settings.messages_per_minute_per_session)
        self.messages_per_address = RateLimiter(settings.messages_per_minute_per_address)
        self.messages_per_origin = RateLimiter(settings.messages_per_minute_per_origin)
        # Counted per session: a session has one token.
        self.streams_per_token = OpenStreams(settings.streams_per_token)
        self.streams_per_address = OpenStreams(settings.streams_per_address)
        self.trusted_proxies = settings.trusted_proxy_networks

    def address_of(self, connection: HTTPConnection) -> str:
        """The client address of a request or a WebSocket (see ``client_address``)."""
        return client_address(connection, self.trusted_proxies)

    def admit_session(self, *, address: str, origin: str | None) -> None:
        """Count a new session against its address and its site; 429 when one is over."""
        limits = [(self.sessions_per_address, address, "chat sessions from this address")]
        if origin is not None:
            limits.append((self.sessions_per_origin, origin, "chat sessions from this site"))
        admit(limits)

    def admit_message(self, *, token: str, address: str, origin: str | None) -> None:
        """Count a visitor's message against its session, address and site; 429 when over."""
        limits = [
            (self.messages_per_session, token, "messages in this chat session"),
            (self.messages_per_address, address, "messages from this address"),
        ]
        if origin is not None:
            limits.append((self.messages_per_origin, origin, "messages from this site"))
        admit(limits)


def client_address(connection: HTTPConnection, trusted_proxies: list[IPNetwork]) -> str:
    """The address a request came from: the socket's peer, unless that peer is a trusted proxy.

    Behind trusted proxies, ``X-Forwarded-For`` is read from the right (each proxy appends
    the address it saw) and the first hop that is not a trusted proxy is the client: what a
    client writes in the header itself stays to the left of it and is never believed.
    """
    peer = connection.client.host if connection.client else "unknown"
    if not _within(peer, trusted_proxies):
        return peer
    hops = ",".join(connection.headers.getlist("x-forwarded-for")).split(",")
    for hop in reversed([hop.strip() for hop in hops if hop.strip()]):
        if not _within(hop, trusted_proxies):
            return hop
    return peer


def _within(address: str, networks: list[IPNetwork]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
