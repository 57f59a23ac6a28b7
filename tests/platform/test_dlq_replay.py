"""``make dlq-replay``: dead letters go back to their topic once; a dry run moves nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Sequence

from aiokafka import ConsumerRecord

from shared.events import InteractionEvent
from shared.kafka import ConsumerLoop, EventProducer, OutgoingRecord, dead_letter_topic
from shared.kafka.topics import ensure_topics
from shared.settings import PlatformSettings
from tests.factories import interaction
from tests.support import ledger
from tests.support.kafka import read_topic


async def refuse_everything(events: Sequence[InteractionEvent]) -> None:
    raise ValueError("the handler had a bug")


async def run_replay(broker: str, *args: str) -> list[dict[str, object]]:
    """Run the command as an operator would; its JSON lines."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard_dev.dlq_replay",
        *args,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0, err.decode()
    return [json.loads(line) for line in out.decode().splitlines()]


async def test_replay_republishes_dead_letters_once_and_a_dry_run_changes_nothing(
    broker: str, platform: PlatformSettings, producer: EventProducer
) -> None:
    topic = ledger.new_topic()
    # Before the loop starts, so that the DLQ exists when the test begins to read it.
    await ensure_topics(platform, [topic])
    dlq = dead_letter_topic(topic)
    failing = [interaction(), interaction()]
    loop = ConsumerLoop(
        settings=platform,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        decoders={topic: InteractionEvent.from_json},
        handle=refuse_everything,
        producer=producer,
    )
    loop.start()
    try:
        await producer.publish_many(
            [OutgoingRecord(topic, e.kafka_key, e.to_json(), (("trace", b"abc"),)) for e in failing]
        )
        await read_topic(broker, dlq, until=lambda records: len(records) == 2, timeout=60)
    finally:
        await loop.stop()
    group = f"replay-{uuid.uuid4().hex[:8]}"

    dry = await run_replay(broker, dlq, "--dry-run", "--group", group)
    assert sorted(str(line["key"]) for line in dry) == sorted(e.conversation_key for e in failing)
    assert all(line["to"] == topic and line["replayed"] is False for line in dry)
    assert all("had a bug" in str(line["error"]) for line in dry)
    # Nothing moved: the source topic holds only the two originals.
    originals = await read_topic(broker, topic, until=lambda records: True, settle=1.0)
    assert len(originals) == 2

    replayed = await run_replay(broker, dlq, "--group", group)
    assert len(replayed) == 2
    source = await read_topic(broker, topic, until=lambda records: len(records) >= 4, settle=1.0)
    assert len(source) == 4
    republished = [r for r in source if (r.partition, r.offset) not in positions(originals)]
    assert sorted(r.value for r in republished) == sorted(e.to_json() for e in failing)
    for record in republished:
        assert dict(record.headers) == {"trace": b"abc"}
        event = InteractionEvent.from_json(record.value)
        assert record.key == event.kafka_key

    again = await run_replay(broker, dlq, "--group", group)
    assert again == []
    source = await read_topic(broker, topic, until=lambda records: True, settle=1.0)
    assert len(source) == 4


def positions(records: list[ConsumerRecord]) -> set[tuple[int, int]]:
    return {(record.partition, record.offset) for record in records}
