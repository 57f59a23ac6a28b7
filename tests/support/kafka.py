"""Reading topics in tests, without a consumer group."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord]], bool] = lambda records: bool(records),
    timeout: float = 20.0,
    settle: float = 0.0,
    partitions: int | None = None,
) -> list[ConsumerRecord]:
    """Every record of ``topic`` from the beginning, once ``until(records)`` holds.

    With ``settle``, keep reading that many seconds more, to catch records that
    should not be there (duplicates). With ``partitions``, read partitions 0 to
    ``partitions - 1`` whatever the broker's metadata says.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, request_timeout_ms=15_000
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout
        listed: set[int] | None = set(range(partitions)) if partitions else None
        while not listed:
            await consumer.topics()  # refreshes the metadata
            listed = consumer.partitions_for_topic(topic)
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {topic} never appeared")
            if not listed:
                await asyncio.sleep(0.1)
        assigned = [TopicPartition(topic, p) for p in sorted(listed)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        settle_until: float | None = None
        checked = 0.0
        while True:
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                records.extend(batch)
            now = time.monotonic()
            # ``until`` looks at every record: ask it once caught up or once a second, not
            # after each batch (that made reading a long topic quadratic).
            if settle_until is None and (not batches or now - checked >= 1.0):
                checked = now
                if until(records):
                    settle_until = now + settle
            if settle_until is not None and now >= settle_until:
                return records
            if now > deadline:
                raise TimeoutError(f"{topic}: condition not met; got {len(records)} records")
    finally:
        await consumer.stop()


def values(records: list[ConsumerRecord]) -> list[dict[str, Any]]:
    """The JSON values of ``records``."""
    return [json.loads(r.value) for r in records]


def with_field(field: str, wanted: set[str]) -> Callable[[list[ConsumerRecord]], bool]:
    """An ``until`` that holds once every value in ``wanted`` appeared in ``field``."""

    def seen_all(records: list[ConsumerRecord]) -> bool:
        seen = {str(v.get(field)) for v in values(records)}
        return wanted <= seen

    return seen_all


async def group_at_end(bootstrap: str, topics: list[str], prefix: str) -> str:
    """A new consumer group whose committed offsets are the topics' current ends.

    A service started with it skips what earlier tests left on the shared topics
    (tens of thousands of records by the end of a run) instead of replaying them all.
    """
    group = f"{prefix}-{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        request_timeout_ms=15_000,
    )
    await consumer.start()
    try:
        await consumer.topics()  # refreshes the metadata
        assigned = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if assigned:
            # Read to the end rather than ask for the end offsets: tansu reports those late.
            consumer.assign(assigned)
            await consumer.seek_to_beginning(*assigned)
            while await consumer.getmany(timeout_ms=500, max_records=10_000):
                pass
            await consumer.commit({tp: await consumer.position(tp) for tp in assigned})
    finally:
        await consumer.stop()
    return group
