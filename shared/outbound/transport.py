"""What a provider's transport answers, and the HTTP status rules every HTTP provider shares."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from shared.events import InteractionEvent

__all__ = [
    "Failed",
    "Outcome",
    "Retry",
    "Sent",
    "Transport",
    "not_configured",
    "outcome_of",
    "retry_after_s",
]


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider took the message; ``provider_message_id`` is its id for it."""

    provider_message_id: str


@dataclass(frozen=True, slots=True)
class Retry:
    """A passing failure (timeout, 5xx, 429): try again, not before ``after_s`` seconds."""

    reason: str
    after_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Failed:
    """A permanent failure: the message will never be sent; ``reason`` says why."""

    reason: str


#: What one delivery attempt ended in.
Outcome = Sent | Retry | Failed


class Transport(Protocol):
    """Delivers one provider's (or one family of providers') ``message.sent`` events."""

    @property
    def name(self) -> str:
        """The provider label of the delivery metrics (``slack``, ``generic``...)."""
        ...

    def serves(self, event: InteractionEvent) -> bool:
        """Whether this transport delivers ``event`` (an agent's reply, see ``is_agent_reply``)."""
        ...

    def limits(self, event: InteractionEvent) -> Sequence[tuple[str, float]]:
        """The rate limits ``event`` counts against: ``(key, messages per second)`` pairs."""
        ...

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        """Call the provider once and say how it went; never raises for the provider's errors.

        Connection errors and timeouts may propagate: the worker turns them into a retry.
        """
        ...


def not_configured(variable: str) -> Failed:
    """The outcome of a provider whose URL or token is unset."""
    return Failed(f"no outbound path configured: set {variable}")


def retry_after_s(response: httpx.Response) -> float:
    """The response's ``Retry-After`` in seconds (a number of seconds; 0 when absent or a date)."""
    value = response.headers.get("retry-after", "").strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        return 0.0


def outcome_of(response: httpx.Response, *, message_id: str) -> Outcome:
    """The outcome of an HTTP answer by its status alone.

    2xx is :class:`Sent` with ``message_id``; 408, 429 and 5xx are :class:`Retry` (honouring
    ``Retry-After``); any other status is :class:`Failed` with the status and the start of the
    body, the provider's own words.
    """
    status = response.status_code
    if 200 <= status < 300:
        return Sent(message_id)
    reason = f"HTTP {status}: {response.text[:500]}".strip()
    if status in (408, 429) or status >= 500:
        return Retry(reason, retry_after_s(response))
    return Failed(reason)
