"""The delivery worker: claims due deliveries, calls the providers, settles each outcome."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime

import httpx
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import Counter, Histogram
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utc_now
from shared.db import Database
from shared.events import InteractionEvent, MessageStatus
from shared.kafka import interaction_record, is_transient
from shared.outbound import delivery
from shared.outbound.delivery import Delivery, DeliveryState
from shared.outbound.limits import RateLimits
from shared.outbound.settings import OutboundSettings
from shared.outbound.status import status_event
from shared.outbound.traced_http import TracedTransport
from shared.outbound.transport import Failed, Outcome, Retry, Sent, Transport
from shared.outbox import OutboxRelay, enqueue
from shared.tasks import finish

__all__ = ["DELIVERIES", "DELIVERY_SECONDS", "UNCERTAIN_REASON", "DeliveryWorker"]

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "switchboard_outbound_deliveries_total",
    "Agent replies delivered to providers, by outcome (sent, retry, failed, uncertain).",
    ["provider", "outcome"],
)

DELIVERY_SECONDS = Histogram(
    "switchboard_outbound_delivery_seconds",
    "From a reply's queuing to the provider's acceptance, retries and rate limits included.",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900),
)

UNCERTAIN_REASON = (
    "delivery outcome unknown: the connector stopped while the provider was answering; "
    "check the provider before sending it again"
)

#: Longest wait between two attempts of one delivery.
MAX_BACKOFF_S = 300.0


class DeliveryWorker:
    """Sends the queued deliveries of one connector; several instances share the table.

    It has the shape ``Runtime.add_worker`` expects. Call :meth:`wake` after queuing
    deliveries so they leave at once rather than at the next poll.
    """

    def __init__(
        self,
        *,
        database: Database,
        table: Table,
        outbox: Table,
        relay: OutboxRelay,
        transports: Sequence[Transport],
        settings: OutboundSettings,
        name: str = "outbound-delivery",
    ) -> None:
        self._database = database
        self._table = table
        self._outbox = outbox
        self._relay = relay
        self._transports = tuple(transports)
        self._settings = settings
        self._name = name
        self._limits = RateLimits()
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        timeout = self._settings.outbound_timeout_s
        tracer = self._database.tracer
        if tracer is None:
            self._client = httpx.AsyncClient(timeout=timeout)
        else:
            traced = TracedTransport(httpx.AsyncHTTPTransport(), tracer)
            self._client = httpx.AsyncClient(timeout=timeout, transport=traced)
        self._task = asyncio.create_task(self._run(), name=self._name)

    def wake(self) -> None:
        """Look for due deliveries now."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        await finish(self._task, 15)
        if self._client is not None:
            await self._client.aclose()

    def transport_for(self, event: InteractionEvent) -> Transport | None:
        """The transport that delivers ``event``, if this connector has one."""
        return next((t for t in self._transports if t.serves(event)), None)

    async def deliver_once(self) -> int:
        """Expire stale leases, then send one batch of due deliveries; how many were claimed."""
        await self._expire_leases()
        claimed = await self._claim()
        results = await asyncio.gather(
            *(self._deliver(item) for item in claimed), return_exceptions=True
        )
        for item, result in zip(claimed, results, strict=True):
            if isinstance(result, Exception):
                # Left `sending`: the provider may have taken it, so its lease ends it uncertain.
                log.error(
                    "delivery not settled",
                    extra={"event_id": str(item.event.event_id), "error": repr(result)},
                )
        return len(claimed)

    async def _run(self) -> None:
        delay = 0.2
        while not self._stopping:
            try:
                done = await self.deliver_once()
                delay = 0.2
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("outbound delivery failed")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if done == self._settings.outbound_batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._settings.outbound_poll_interval_s)
            self._wake.clear()

    async def _expire_leases(self) -> None:
        at = utc_now()
        async with self._database.transaction() as session:
            lost = await delivery.expire_leases(session, self._table, at=at, error=UNCERTAIN_REASON)
            for event in lost:
                log.error("delivery outcome unknown", extra={"event_id": str(event.event_id)})
                await self._publish(session, event, MessageStatus.FAILED, at, UNCERTAIN_REASON)
                DELIVERIES.labels(self._label(event), "uncertain").inc()
        if lost:
            self._relay.wake()

    async def _claim(self) -> list[Delivery]:
        at = utc_now()
        async with self._database.transaction() as session:
            due = await delivery.due(
                session, self._table, at=at, limit=self._settings.outbound_batch
            )
            ready: list[Delivery] = []
            for item in due:
                transport = self.transport_for(item.event)
                wait = self._limits.take(transport.limits(item.event)) if transport else 0.0
                if wait > 0:
                    until = delivery.after(at, wait)
                    await delivery.postpone(session, self._table, item.event.event_id, until)
                else:
                    ready.append(item)
            await delivery.lease(
                session,
                self._table,
                [item.event.event_id for item in ready],
                until=delivery.after(at, self._settings.outbound_lease_s),
            )
        return ready

    async def _deliver(self, item: Delivery) -> None:
        tracer = self._database.tracer
        if tracer is None:
            await self._attempt(item)
            return
        with tracer.start_as_current_span(
            f"deliver {self._label(item.event)}",
            kind=SpanKind.INTERNAL,
            attributes={"switchboard.event_id": str(item.event.event_id)},
        ) as span:
            outcome = await self._attempt(item)
            span.set_attribute("switchboard.outcome", type(outcome).__name__.lower())
            if not isinstance(outcome, Sent):
                span.set_status(StatusCode.ERROR, outcome.reason[:200])

    async def _attempt(self, item: Delivery) -> Outcome:
        event = item.event
        transport = self.transport_for(event)
        outcome: Outcome
        if transport is None:
            outcome = Failed(f"no transport for provider {event.provider}")
        else:
            assert self._client is not None
            try:
                outcome = await transport.send(event, self._client)
            except httpx.TransportError as exc:
                outcome = Retry(f"{type(exc).__name__}: {exc}".strip(": "))
        await self._settle(item, outcome)
        return outcome

    async def _settle(self, item: Delivery, outcome: Outcome) -> None:
        event, at = item.event, utc_now()
        label = self._label(event)
        async with self._database.transaction() as session:
            if isinstance(outcome, Sent):
                await delivery.settle(
                    session,
                    self._table,
                    event.event_id,
                    state=DeliveryState.SENT,
                    at=at,
                    provider_message_id=outcome.provider_message_id,
                )
                await self._publish(
                    session, event, MessageStatus.SENT, at, None, outcome.provider_message_id
                )
                DELIVERIES.labels(label, "sent").inc()
                DELIVERY_SECONDS.labels(label).observe((at - item.created_at).total_seconds())
            elif isinstance(outcome, Retry) and (retry_at := self._retry_at(item, outcome, at)):
                await delivery.requeue(
                    session, self._table, event.event_id, at=retry_at, error=outcome.reason
                )
                DELIVERIES.labels(label, "retry").inc()
                log.warning(
                    "delivery will be retried",
                    extra={"event_id": str(event.event_id), "error": outcome.reason},
                )
            else:
                reason = outcome.reason
                if isinstance(outcome, Retry):
                    reason = f"gave up after {item.attempts} attempts: {reason}"
                await delivery.settle(
                    session,
                    self._table,
                    event.event_id,
                    state=DeliveryState.FAILED,
                    at=at,
                    error=reason,
                )
                await self._publish(session, event, MessageStatus.FAILED, at, reason)
                DELIVERIES.labels(label, "failed").inc()
        self._relay.wake()

    def _retry_at(self, item: Delivery, outcome: Retry, at: datetime) -> datetime | None:
        """When to try again, or None when that would pass the give-up time."""
        backoff = min(MAX_BACKOFF_S, 2.0 ** (item.attempts - 1))
        retry_at = delivery.after(at, max(outcome.after_s, backoff))
        give_up_at = delivery.after(item.created_at, self._settings.outbound_give_up_s)
        return retry_at if retry_at <= give_up_at else None

    async def _publish(
        self,
        session: AsyncSession,
        reply: InteractionEvent,
        status: MessageStatus,
        at: datetime,
        reason: str | None,
        provider_message_id: str | None = None,
    ) -> None:
        event = status_event(
            reply, status, at=at, reason=reason, provider_message_id=provider_message_id
        )
        await enqueue(session, self._outbox, [interaction_record(event)])

    def _label(self, event: InteractionEvent) -> str:
        transport = self.transport_for(event)
        return transport.name if transport else event.provider
