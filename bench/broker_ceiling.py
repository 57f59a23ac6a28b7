"""The broker's ceiling: the raw aiokafka producer publishing the connector's own event bytes.

Run as its own process (``python -m bench.broker_ceiling BOOTSTRAP COUNT``). It reads ``COUNT``
records the connector published on ``interactions.v1`` (the very bytes, keys and headers), then
publishes them to a scratch topic two ways, with the producer settings of the services
(acks=all, the same linger and batch size):

- ``per_request``: 64 tasks each awaiting one acknowledged send at a time, which is what 64
  concurrent webhooks do through ``publish_many``;
- ``pipelined``: every send issued at once, then all acknowledgements awaited.

Prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.events import INTERACTIONS_TOPIC
from shared.settings import PlatformSettings

SCRATCH_TOPIC = "bench.broker-ceiling"
Record = tuple[bytes | None, bytes, list[tuple[str, bytes]]]


async def read_records(bootstrap: str, count: int) -> list[Record]:
    consumer = AIOKafkaConsumer(
        INTERACTIONS_TOPIC,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        request_timeout_ms=15_000,
    )
    await consumer.start()
    records: list[Record] = []
    try:
        deadline = time.monotonic() + 60
        while len(records) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for batch in batches.values():
                records += [(r.key, r.value, list(r.headers)) for r in batch]
    finally:
        await consumer.stop()
    return records[:count]


def producer(bootstrap: str) -> AIOKafkaProducer:
    settings = PlatformSettings()
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        linger_ms=settings.kafka_linger_ms,
        max_batch_size=settings.kafka_max_batch_bytes,
    )


async def per_request(kafka: AIOKafkaProducer, records: list[Record], tasks: int) -> float:
    queue = iter(records)

    async def one_at_a_time() -> None:
        for key, value, headers in queue:
            await (await kafka.send(SCRATCH_TOPIC, value, key=key, headers=headers))

    started = time.perf_counter()
    await asyncio.gather(*(one_at_a_time() for _ in range(tasks)))
    return len(records) / (time.perf_counter() - started)


async def pipelined(kafka: AIOKafkaProducer, records: list[Record]) -> float:
    started = time.perf_counter()
    pending = [
        await kafka.send(SCRATCH_TOPIC, value, key=key, headers=headers)
        for key, value, headers in records
    ]
    await asyncio.gather(*pending)
    return len(records) / (time.perf_counter() - started)


async def measure(bootstrap: str, count: int, tasks: int = 64) -> dict[str, Any]:
    records = await read_records(bootstrap, count)
    if not records:
        raise RuntimeError("no records on interactions.v1 to replay")
    kafka = producer(bootstrap)
    await kafka.start()
    try:
        await per_request(kafka, records[: min(500, len(records))], tasks)  # warm-up
        return {
            "records": len(records),
            "mean_record_bytes": round(sum(len(r[1]) for r in records) / len(records)),
            "per_request_per_s": round(await per_request(kafka, records, tasks), 1),
            "pipelined_per_s": round(await pipelined(kafka, records), 1),
        }
    finally:
        await kafka.stop()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure(sys.argv[1], int(sys.argv[2])))))
