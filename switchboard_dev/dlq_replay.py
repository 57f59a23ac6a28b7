"""Republish a dead-letter topic's records to the topics they failed on.

``python -m switchboard_dev.dlq_replay interactions.v1.dlq [--dry-run] [--group NAME]``

Once the cause of a failure is fixed (a bug, a missing row), replaying sends each
dead-lettered record back with its original key, value and headers (the ``dlq.*``
headers dropped), so the consumers handle it again; they are idempotent on the event
id. The replay reads with a consumer group of its own and commits after the broker
acknowledged the republished records, so running it twice replays nothing twice. A
record whose value was too large to be dead-lettered has nothing to replay: it is
reported and skipped. ``--dry-run`` prints what would be replayed and changes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from shared.kafka import EventProducer
from shared.kafka.dead_letters import original_topic, replay_record
from shared.kafka.topics import DLQ_SUFFIX
from shared.settings import PlatformSettings
from switchboard_dev.tail import bootstrap_servers, connection

DEFAULT_GROUP = "switchboard-dlq-replay"


def describe(record: ConsumerRecord, *, replayed: bool) -> str:
    """One JSON line saying which dead-lettered record goes where, without its value."""
    headers = {name: bytes(value).decode(errors="replace") for name, value in record.headers}
    return json.dumps(
        {
            "dlq_offset": f"{record.topic}/{record.partition}/{record.offset}",
            "to": original_topic(record),
            "key": record.key.decode(errors="replace") if record.key is not None else None,
            "bytes": len(record.value or b""),
            "error": headers.get("dlq.error"),
            "replayed": replayed,
        },
        ensure_ascii=False,
    )


async def read_pending(consumer: AIOKafkaConsumer, topic: str) -> list[ConsumerRecord] | None:
    """Every record of ``topic`` past the group's committed offsets, up to the current end.

    None when the topic does not exist.
    """
    await consumer.topics()  # refreshes the metadata
    partitions = consumer.partitions_for_topic(topic)
    if not partitions:
        return None
    assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer.assign(assigned)
    for tp in assigned:
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
    ends = await consumer.end_offsets(assigned)
    records: list[ConsumerRecord] = []
    while any([await consumer.position(tp) < ends[tp] for tp in assigned]):
        batches = await consumer.getmany(timeout_ms=500)
        for tp, batch in batches.items():
            records.extend(r for r in batch if r.offset < ends[tp])
    # Commit exactly what was read, even when records arrived meanwhile.
    for tp in assigned:
        consumer.seek(tp, ends[tp])
    return records


async def replay(topic: str, *, group: str, dry_run: bool, bootstrap: str) -> int:
    """Replay (or, dry, list) the records of dead-letter ``topic`` not replayed yet by ``group``."""
    consumer = AIOKafkaConsumer(
        **connection(bootstrap),
        group_id=group,
        enable_auto_commit=False,
        request_timeout_ms=15_000,
    )
    await consumer.start()
    try:
        records = await read_pending(consumer, topic)
        if records is None:
            print(f"topic {topic!r} does not exist", file=sys.stderr)
            return 1
        if dry_run:
            for record in records:
                print(describe(record, replayed=False), flush=True)
            return 0
        await republish(records, bootstrap)
        await consumer.commit()
        for record in records:
            print(describe(record, replayed=replay_record(record) is not None), flush=True)
        return 0
    finally:
        await consumer.stop()


async def republish(records: Sequence[ConsumerRecord], bootstrap: str) -> None:
    """Publish each replayable record to its original topic; return once all are acknowledged."""
    outgoing = [r for r in map(replay_record, records) if r is not None]
    if not outgoing:
        return
    settings = PlatformSettings().model_copy(update={"kafka_bootstrap_servers": bootstrap})
    producer = EventProducer(settings)
    await producer.start(wait=True)
    try:
        await producer.publish_many(outgoing)
    finally:
        await producer.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topic", help=f"a dead-letter topic, e.g. interactions.v1{DLQ_SUFFIX}")
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be replayed; change nothing"
    )
    parser.add_argument(
        "--group",
        default=DEFAULT_GROUP,
        help=f"consumer group whose offsets remember what was replayed (default {DEFAULT_GROUP})",
    )
    args = parser.parse_args(argv)
    if not args.topic.endswith(DLQ_SUFFIX):
        parser.error(f"{args.topic!r} is not a dead-letter topic (no {DLQ_SUFFIX} suffix)")
    code = asyncio.run(
        replay(args.topic, group=args.group, dry_run=args.dry_run, bootstrap=bootstrap_servers())
    )
    raise SystemExit(code)


if __name__ == "__main__":
    main()
