"""Outbound delivery: each connector sends the agents' replies with its providers' APIs.

A connector declares ``delivery_table(metadata)`` and ``outbox_table(metadata)`` (and a
migration creating them), a :class:`Transport` per provider, inherits
:class:`OutboundSettings` in its settings class, and calls :func:`install` from its
start-up hook. Every reply is then sent once per event id, retried on passing failures
until ``OUTBOUND_GIVE_UP_S``, and every outcome is published as a ``message.status``.
"""

from shared.outbound.delivery import DeliveryState, delivery_table
from shared.outbound.limits import RateLimits
from shared.outbound.settings import OutboundSettings
from shared.outbound.status import is_agent_reply, status_event
from shared.outbound.transport import (
    Failed,
    Outcome,
    Retry,
    Sent,
    Transport,
    not_configured,
    outcome_of,
    retry_after_s,
)
from shared.outbound.webhook import SignedWebhookTransport
from shared.outbound.wiring import install
from shared.outbound.worker import (
    DELIVERIES,
    DELIVERY_SECONDS,
    UNCERTAIN_REASON,
    DeliveryWorker,
)

__all__ = [
    "DELIVERIES",
    "DELIVERY_SECONDS",
    "UNCERTAIN_REASON",
    "DeliveryState",
    "DeliveryWorker",
    "Failed",
    "OutboundSettings",
    "Outcome",
    "RateLimits",
    "Retry",
    "Sent",
    "SignedWebhookTransport",
    "Transport",
    "delivery_table",
    "install",
    "is_agent_reply",
    "not_configured",
    "outcome_of",
    "retry_after_s",
    "status_event",
]
