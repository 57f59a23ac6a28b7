"""Print the records of a topic as JSON lines: ``python -m switchboard_dev.tail TOPIC``.

The project's own topic reader (kcat cannot talk to the embedded broker).
Reads the broker address from ``KAFKA_BOOTSTRAP_SERVERS`` or from the file
``make run`` writes (``.run/stack.env``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.kafka.connection import client_options
from shared.settings import PlatformSettings

STACK_ENV = Path(__file__).resolve().parent.parent / ".run" / "stack.env"


def connection(bootstrap: str) -> dict[str, Any]:
    """The client options of the platform settings (TLS, SASL) for ``bootstrap``."""
    settings = PlatformSettings().model_copy(update={"kafka_bootstrap_servers": bootstrap})
    return client_options(settings)


def bootstrap_servers() -> str:
    if value := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return value
    if STACK_ENV.exists():
        for line in STACK_ENV.read_text().splitlines():
            name, _, value = line.partition("=")
            if name == "KAFKA_BOOTSTRAP_SERVERS":
                return value
    return "127.0.0.1:9092"


def render(record: ConsumerRecord) -> str:
    try:
        value: Any = json.loads(record.value)
    except ValueError:
        value = record.value.decode(errors="replace")
    return json.dumps(
        {
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode(errors="replace") if record.key is not None else None,
            "headers": {k: v.decode(errors="replace") for k, v in record.headers},
            "value": value,
        },
        ensure_ascii=False,
    )


async def tail(topic: str, *, follow: bool, bootstrap: str) -> int:
    """Print every record of ``topic`` from the beginning; keep following if asked."""
    consumer = AIOKafkaConsumer(
        **connection(bootstrap), enable_auto_commit=False, request_timeout_ms=15_000
    )
    await consumer.start()
    printed = 0
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer.topics()  # refreshes the metadata
            partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            print(f"topic {topic!r} does not exist", file=sys.stderr)
            return 1

        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        ends = await consumer.end_offsets(assigned)
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    print(render(record), flush=True)
                    printed += 1
            if not follow:
                positions = {tp: await consumer.position(tp) for tp in assigned}
                if all(positions[tp] >= ends[tp] for tp in assigned):
                    return 0
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("topic", help="e.g. interactions.v1, routing.v1, interactions.v1.dlq")
    parser.add_argument(
        "--no-follow", action="store_true", help="exit at the end instead of waiting for more"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        code = asyncio.run(
            tail(args.topic, follow=not args.no_follow, bootstrap=bootstrap_servers())
        )
        raise SystemExit(code)


if __name__ == "__main__":
    main()
