"""A consumer-group loop: handle, then commit; poison to the DLQ; rebuild when stalled.

Delivery is at least once: offsets are committed only after the handler
returned, so handlers must be idempotent on the event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from shared.errors import BrokerUnavailable, RecordTooLarge
from shared.kafka.batches import batch_span, log_batch
from shared.kafka.connection import client_options
from shared.kafka.dead_letters import dead_letter_record, without_value
from shared.kafka.failures import describe_failure, is_transient
from shared.kafka.producer import EventProducer
from shared.kafka.topics import ensure_topics
from shared.observability import (
    CONSUMER_LAG,
    CONSUMER_REBUILDS,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
)
from shared.settings import PlatformSettings
from shared.tasks import finish

__all__ = ["ConsumerLoop", "Decoder", "Handler"]

log = logging.getLogger(__name__)

#: Turns a record's bytes into the value the handler gets; raising marks the record poison.
Decoder = Callable[[bytes], Any]
#: Handles a batch of decoded values, in partition order; must be idempotent.
Handler = Callable[[Sequence[Any]], Awaitable[None]]


@dataclass
class _Progress:
    """What the stall watchdog remembers between two checks."""

    positions: dict[TopicPartition, int] = field(default_factory=dict)
    committed: dict[TopicPartition, int] = field(default_factory=dict)
    stalled_since: float | None = None
    failing_since: float | None = None


class ConsumerLoop:
    """Consumes ``topics`` in consumer group ``group_id`` and feeds batches to ``handle``."""

    def __init__(
        self,
        *,
        settings: PlatformSettings,
        group_id: str,
        decoders: Mapping[str, Decoder],
        handle: Handler,
        producer: EventProducer,
        wants: Callable[[ConsumerRecord], bool] | None = None,
        max_batch: int = 500,
        check_interval_s: float = 5.0,
    ) -> None:
        self._settings = settings
        self.group_id = group_id
        self._decoders = dict(decoders)
        #: A cheap look at a record (its key, its headers) before decoding: records it
        #: refuses are committed without being decoded or handled.
        self._wants = wants
        self._handle = handle
        self._producer = producer
        self._max_batch = max_batch
        self._check_interval_s = check_interval_s
        self._consumer: AIOKafkaConsumer | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._progress = _Progress()
        #: Set when a commit could not complete: the broker no longer knows the group's topics.
        self._commits_lost = False
        self.rebuilds = 0

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Run the loop in a background task."""
        self._task = asyncio.create_task(self.run(), name=f"consumer:{self.group_id}")

    async def stop(self, timeout: float = 15.0) -> None:
        """Finish the batch in hand, commit its offsets and leave the group."""
        self._stopping.set()
        await finish(self._task, timeout)

    @property
    def name(self) -> str:
        return f"consumer:{self.group_id}"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def run(self) -> None:
        """Consume until :meth:`stop`; survives broker and database outages."""
        try:
            last_check = time.monotonic()
            while await self._connected() and not self._stopping.is_set():
                assert self._consumer is not None
                batches = await self._consumer.getmany(timeout_ms=500, max_records=self._max_batch)
                if batches and not await self._processed(batches):
                    break
                if self._commits_lost:
                    await self._rebuild()
                    continue
                if time.monotonic() - last_check >= self._check_interval_s:
                    last_check = time.monotonic()
                    if await self._stalled():
                        await self._rebuild()
        finally:
            await self._disconnect()

    # -- connection --------------------------------------------------------

    def _build(self) -> AIOKafkaConsumer:
        s = self._settings
        return AIOKafkaConsumer(
            *self._decoders,
            **client_options(s),
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            request_timeout_ms=s.kafka_request_timeout_ms,
            session_timeout_ms=s.kafka_session_timeout_ms,
            heartbeat_interval_ms=max(1000, s.kafka_session_timeout_ms // 3),
            # A database outage may hold a batch for minutes: stay in the group meanwhile.
            max_poll_interval_ms=30 * 60 * 1000,
            fetch_max_wait_ms=10,
        )

    async def _connected(self) -> bool:
        """Connect if not connected; False when stopped before a connection was made."""
        if self._consumer is None:
            await self._connect()
        return self._consumer is not None

    async def _connect(self) -> None:
        delay = 0.2
        while not self._stopping.is_set():
            consumer = self._build()
            try:
                await ensure_topics(self._settings, self._decoders)
                await consumer.start()
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    await consumer.stop()
                if not isinstance(exc, KafkaError | OSError):
                    raise
                log.warning("consumer cannot reach the broker", extra={"error": repr(exc)})
                await self._sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self._consumer = consumer
                self._progress = _Progress()
                self._commits_lost = False
                log.info("consumer started", extra={"group": self.group_id})
                return

    async def _disconnect(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        try:
            await asyncio.wait_for(consumer.stop(), 10)
        except asyncio.CancelledError:
            # aiokafka's stop() lets the cancellation of its own fetch tasks escape after a
            # broker loss; only a cancellation aimed at this task must propagate.
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
        except Exception as exc:
            log.warning("consumer did not stop cleanly", extra={"error": repr(exc)})

    async def _rebuild(self) -> None:
        self.rebuilds += 1
        CONSUMER_REBUILDS.labels(self.group_id).set(self.rebuilds)
        log.warning("consumer made no progress; rebuilding it", extra={"group": self.group_id})
        await self._disconnect()

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    # -- processing --------------------------------------------------------

    async def _processed(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> bool:
        """Process a fetch; False when the loop was stopped while the batch still failed.

        A batch held by a transient failure (the database is down) is then left
        uncommitted: the next member of the group gets it again.
        """
        try:
            await self._process(batches)
        except Exception as exc:
            if not (self._stopping.is_set() and is_transient(exc)):
                raise
            log.warning(
                "stopped with a batch still failing; its offsets stay uncommitted",
                extra={"group": self.group_id, "error": describe_failure(exc)},
            )
            return False
        return True

    async def _process(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Handle everything one fetch returned in one handler call, then commit it all.

        Records keep their partition order, so a conversation's events stay in order.
        """
        decoded: list[tuple[ConsumerRecord, Any]] = []
        for tp, records in batches.items():
            decode = self._decoders[tp.topic]
            for record in records:
                if self._wants is not None and not self._wants(record):
                    continue
                try:
                    decoded.append((record, decode(record.value)))
                except Exception as exc:
                    await self._dead_letter(record, f"undecodable: {describe_failure(exc)}")
        trace_id: str | None = None
        tracer = self._producer.tracer
        if tracer is None or not decoded:
            await self._handle_with_retry(decoded)
        else:
            with batch_span(tracer, self.group_id, decoded) as span:
                await self._handle_with_retry(decoded)
            trace_id = format(span.get_span_context().trace_id, "032x")
        await self._commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
        for record, _ in decoded:
            EVENTS_CONSUMED.labels(record.topic, self.group_id, "ok").inc()
        if decoded:
            log_batch(self.group_id, decoded, trace_id)

    async def _handle_with_retry(self, decoded: list[tuple[ConsumerRecord, Any]]) -> None:
        """Handle a batch; on a record error, handle one by one and dead-letter the culprits."""
        if not decoded:
            return
        try:
            await self._retry_transient([value for _, value in decoded])
            return
        except Exception:
            if self._stopping.is_set():
                raise
        # Some record in the batch is bad: find it by handling them one at a time.
        for record, value in decoded:
            try:
                await self._retry_transient([value])
            except Exception as exc:
                if self._stopping.is_set():
                    raise
                await self._dead_letter(record, f"handler failed: {describe_failure(exc)}")

    async def _retry_transient(self, values: list[Any]) -> None:
        """Call the handler, retrying with back-off while the failure is transient."""
        delay = 0.2
        while True:
            try:
                await self._handle(values)
                return
            except Exception as exc:
                if not is_transient(exc) or self._stopping.is_set():
                    raise
                log.warning("transient failure; retrying", extra={"error": describe_failure(exc)})
                await self._sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _dead_letter(self, record: ConsumerRecord, error: str) -> None:
        outgoing = dead_letter_record(record, group_id=self.group_id, error=error)
        delay = 0.2
        while True:
            try:
                await self._producer.publish(outgoing)
                break
            except RecordTooLarge:
                # Retrying would never succeed: keep the record's trace without its value.
                outgoing = without_value(outgoing)
            except BrokerUnavailable:
                if self._stopping.is_set():
                    raise
                await self._sleep(delay)
                delay = min(delay * 2, 5.0)
        EVENTS_DEAD_LETTERED.labels(record.topic).inc()
        EVENTS_CONSUMED.labels(record.topic, self.group_id, "dead_lettered").inc()
        log.warning(
            "record sent to the dead-letter topic",
            extra={"topic": record.topic, "offset": record.offset, "error": error[:500]},
        )

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self._consumer is not None
        try:
            # aiokafka retries a retriable error for ever, and a restarted embedded broker
            # answers every commit with one (its topics are unknown until created again).
            async with asyncio.timeout(self._settings.kafka_stall_timeout_s):
                await self._consumer.commit(offsets)
        except TimeoutError:
            log.warning("offset commit did not complete", extra={"group": self.group_id})
            self._commits_lost = True
            return
        except KafkaError as exc:
            # The records will come again (to us or another member); handlers are idempotent.
            log.warning("offset commit failed", extra={"error": repr(exc)})
            return
        self._progress.committed.update(offsets)

    # -- stall watchdog ----------------------------------------------------

    async def _stalled(self) -> bool:
        """True when the consumer should be rebuilt.

        That is when it has lag but its positions have not moved for the stall
        timeout, when the broker forgot the offsets we committed (an embedded
        broker restarted and lost its state), or when the broker has not
        answered for the stall timeout. End offsets are not compared with our
        positions: tansu reports them late, below what we already consumed.
        """
        consumer = self._consumer
        assert consumer is not None
        progress = self._progress
        now = time.monotonic()
        timeout = self._settings.kafka_stall_timeout_s
        assignment = list(consumer.assignment())
        # Partitions handed to another member are theirs to commit now.
        progress.committed = {
            tp: offset for tp, offset in progress.committed.items() if tp in assignment
        }
        try:
            async with asyncio.timeout(5):
                ends = await consumer.end_offsets(assignment) if assignment else {}
                positions = {tp: await consumer.position(tp) for tp in assignment}
                committed = {tp: await consumer.committed(tp) for tp in progress.committed}
        except (KafkaError, TimeoutError, OSError) as exc:
            progress.failing_since = progress.failing_since or now
            log.warning("consumer health check failed", extra={"error": repr(exc)})
            return now - progress.failing_since > timeout
        progress.failing_since = None

        lag_by_topic: dict[str, int] = {}
        for tp in assignment:
            lag_by_topic[tp.topic] = lag_by_topic.get(tp.topic, 0) + max(
                0, ends[tp] - positions[tp]
            )
        for topic, lag in lag_by_topic.items():
            CONSUMER_LAG.labels(topic, self.group_id).set(lag)

        if any((committed[tp] or 0) < offset for tp, offset in progress.committed.items()):
            return True
        lagging = any(ends[tp] > positions[tp] for tp in assignment)
        moved = positions != progress.positions
        progress.positions = positions
        if not lagging or moved:
            progress.stalled_since = None
            return False
        progress.stalled_since = progress.stalled_since or now
        return now - progress.stalled_since > timeout
