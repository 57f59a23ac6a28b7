"""A producer whose publish returns only once the broker has acknowledged (acks=all)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer

from shared import tracing
from shared.errors import BrokerUnavailable, RecordTooLarge
from shared.events import INTERACTIONS_TOPIC, InteractionEvent
from shared.kafka.connection import client_options
from shared.kafka.topics import ensure_topics
from shared.observability import EVENTS_PUBLISHED, PUBLISH_FAILURES
from shared.request_log import note_events
from shared.settings import PlatformSettings

__all__ = ["EventProducer", "OutgoingRecord", "interaction_record", "publish_interactions"]

log = logging.getLogger(__name__)

#: Room for a record's framing in a request: batch header, varints, timestamps.
RECORD_OVERHEAD_BYTES = 128


@dataclass(frozen=True, slots=True)
class OutgoingRecord:
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()

    @property
    def size(self) -> int:
        """Bytes the record takes in a produce request, framing included (an upper bound)."""
        key = len(self.key) if self.key is not None else 0
        headers = sum(len(name.encode()) + len(value) for name, value in self.headers)
        return RECORD_OVERHEAD_BYTES + key + len(self.value) + headers


def interaction_record(event: InteractionEvent) -> OutgoingRecord:
    """``event`` as a record of ``interactions.v1``, keyed by its conversation."""
    return OutgoingRecord(INTERACTIONS_TOPIC, event.kafka_key, event.to_json())


async def publish_interactions(
    producer: EventProducer, events: Sequence[InteractionEvent], *, timeout_s: float | None = None
) -> None:
    """Publish interaction events together; return once the broker acknowledged them all."""
    note_events(events)
    await producer.publish_many(
        [interaction_record(event) for event in events], timeout_s=timeout_s
    )


class EventProducer:
    """Publishes records and waits for the broker's acknowledgement.

    The connection is made in the background so that a service starts (and
    answers ``/healthz``) while the broker is still coming up; until it is
    connected every publish raises :class:`BrokerUnavailable`. ``topics`` are
    created (with their dead-letter twins) once the broker answers.

    With a ``tracer``, each record gets a ``send`` span, child of the context its headers
    carry (a record relayed from an outbox) or else of the current one, and leaves with
    that span's ``traceparent`` in its headers.
    """

    def __init__(
        self,
        settings: PlatformSettings,
        *,
        topics: Iterable[str] = (),
        tracer: Tracer | None = None,
    ) -> None:
        self._settings = settings
        self.tracer = tracer
        self._topics = tuple(topics)
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        #: What is wrong with the topics when the services may not create them.
        self.topic_problems: list[str] = []

    def _build(self) -> AIOKafkaProducer:
        s = self._settings
        return AIOKafkaProducer(
            **client_options(s),
            acks="all",
            enable_idempotence=s.kafka_enable_idempotence,
            linger_ms=s.kafka_linger_ms,
            max_batch_size=s.kafka_max_batch_bytes,
            compression_type=None if s.kafka_compression == "none" else s.kafka_compression,
            request_timeout_ms=s.kafka_request_timeout_ms,
            max_request_size=s.kafka_max_request_size,
        )

    async def start(self, *, wait: bool = False, patience_s: float = 0.0) -> None:
        """Connect now (``wait=True``), or keep trying in the background.

        In the background, still wait up to ``patience_s`` seconds for the first
        connection, so a service whose broker is up takes no request it must refuse.
        """
        if wait:
            await self._connect_forever()
            return
        self._connecting = asyncio.create_task(self._connect_forever())
        if patience_s > 0:
            await asyncio.wait({self._connecting}, timeout=patience_s)

    async def _connect_forever(self) -> None:
        delay = 0.2
        while self._producer is None:
            producer = self._build()
            try:
                await producer.start()
                self.topic_problems = await ensure_topics(self._settings, self._topics)
            except asyncio.CancelledError:
                await producer.stop()
                raise
            except (KafkaError, OSError) as exc:
                await producer.stop()
                log.warning("broker not reachable yet", extra={"error": repr(exc)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self._producer = producer
                log.info("producer connected")

    async def stop(self) -> None:
        """Flush what is buffered and close."""
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._producer is not None:
            with contextlib.suppress(KafkaError, asyncio.TimeoutError):
                await asyncio.wait_for(self._producer.flush(), 10)
            await self._producer.stop()
            self._producer = None

    @property
    def connected(self) -> bool:
        return self._producer is not None

    async def ping(self, timeout: float = 2.0) -> bool:
        """True when the broker answers a metadata request within ``timeout`` seconds."""
        if self._producer is None:
            return False
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), timeout)
            if self.topic_problems:
                # Someone may have created them since: look again.
                checking = ensure_topics(self._settings, self._topics)
                self.topic_problems = await asyncio.wait_for(checking, timeout)
        except (KafkaError, OSError, TimeoutError):
            return False
        return True

    async def publish(self, record: OutgoingRecord) -> None:
        """Publish one record; raise :class:`BrokerUnavailable` when not acknowledged in time,
        :class:`RecordTooLarge` when it is larger than a request may be."""
        await self.publish_many([record])

    async def publish_many(
        self, records: Sequence[OutgoingRecord], *, timeout_s: float | None = None
    ) -> None:
        """Publish records together; return once the broker acknowledged every one of them.

        Raises :class:`RecordTooLarge`, before sending any, when one of them is larger than
        ``KAFKA_MAX_REQUEST_SIZE`` (or the broker refuses its size): retrying cannot help.
        Raises :class:`BrokerUnavailable` when the broker does not acknowledge within
        ``timeout_s``, by default ``KAFKA_PUBLISH_TIMEOUT_S``. Records given up on may
        still reach the broker later: the producer keeps sending what it took.
        """
        if not records:
            return
        if self.tracer is None:
            await self._checked_send(records, timeout_s)
            return
        spans = [_send_span(self.tracer, r) for r in records]
        traced = [
            OutgoingRecord(r.topic, r.key, r.value, tracing.with_trace_headers(r.headers, span))
            for r, span in zip(records, spans, strict=True)
        ]
        try:
            await self._checked_send(traced, timeout_s)
        except Exception as exc:
            for span in spans:
                span.record_exception(exc)
                span.set_status(StatusCode.ERROR, type(exc).__name__)
                span.end()
            raise
        for span in spans:
            span.end()

    async def _checked_send(
        self, records: Sequence[OutgoingRecord], timeout_s: float | None
    ) -> None:
        """Refuse an oversized record (trace headers included) before sending any, then send."""
        limit = self._settings.kafka_max_request_size
        for r in records:
            if r.size > limit:
                raise RecordTooLarge(
                    f"a record of {r.size} bytes for {r.topic} exceeds the {limit} bytes "
                    "the broker accepts"
                )
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("not connected to the broker yet")
        await self._send(producer, records, timeout_s)

    async def _send(
        self, producer: AIOKafkaProducer, records: Sequence[OutgoingRecord], timeout_s: float | None
    ) -> None:
        try:
            budget = self._settings.kafka_publish_timeout_s if timeout_s is None else timeout_s
            async with asyncio.timeout(budget):
                pending = [
                    await producer.send(r.topic, r.value, key=r.key, headers=list(r.headers))
                    for r in records
                ]
                await asyncio.gather(*pending)
        except MessageSizeTooLargeError as exc:
            PUBLISH_FAILURES.labels(records[0].topic).inc(len(records))
            raise RecordTooLarge("the broker refused a record as too large") from exc
        except (KafkaError, TimeoutError) as exc:
            PUBLISH_FAILURES.labels(records[0].topic).inc(len(records))
            log.warning("publish not acknowledged", extra={"error": repr(exc)})
            raise BrokerUnavailable(
                "the broker did not acknowledge the event; retry later"
            ) from exc
        for r in records:
            EVENTS_PUBLISHED.labels(r.topic).inc()


def _send_span(tracer: Tracer, record: OutgoingRecord) -> Span:
    """A producer span for ``record``: child of the context it carries, else of the current one."""
    return tracer.start_span(
        f"send {record.topic}",
        context=tracing.extract(record.headers),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": record.topic,
            "messaging.message.body.size": len(record.value),
        },
    )
