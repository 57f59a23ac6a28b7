"""The consumer loop against the real broker and Postgres: at least once, counted once."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Sequence

import pytest
from aiokafka import ConsumerRecord
from aiokafka.partitioner import DefaultPartitioner

from shared.db import Database
from shared.events import InteractionEvent
from shared.kafka import ConsumerLoop, EventProducer, OutgoingRecord, dead_letter_topic
from shared.kafka.topics import ensure_topics
from shared.settings import PlatformSettings
from tests.factories import interaction
from tests.support import ledger
from tests.support.crashing_consumer import CRASHED
from tests.support.kafka import read_topic


@pytest.fixture(scope="module")
async def ledger_tables(database: Database) -> None:
    await ledger.create_tables(database.engine)


async def wait_until(condition: Callable[[], bool], timeout: float = 45.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


def record_of(topic: str, event: InteractionEvent) -> OutgoingRecord:
    return OutgoingRecord(topic, event.kafka_key, event.to_json())


class Recorder:
    """A handler that counts into the ledger and remembers every event it was given."""

    def __init__(self, database: Database, *, explode_on: str | None = None) -> None:
        self.database = database
        self.seen: list[InteractionEvent] = []
        self.explode_on = explode_on

    async def __call__(self, events: Sequence[InteractionEvent]) -> None:
        for event in events:
            if self.explode_on and event.content and event.content.text == self.explode_on:
                raise ValueError("this event cannot be processed")
        await ledger.count_events(self.database, events)
        self.seen.extend(events)


@pytest.fixture
async def running_loop(
    platform: PlatformSettings, producer: EventProducer
) -> AsyncIterator[Callable[..., ConsumerLoop]]:
    started: list[ConsumerLoop] = []

    def start(
        topic: str, handler: Recorder, wants: Callable[[ConsumerRecord], bool] | None = None
    ) -> ConsumerLoop:
        loop = ConsumerLoop(
            settings=platform,
            group_id=f"test-{uuid.uuid4().hex[:8]}",
            decoders={topic: InteractionEvent.from_json},
            handle=handler,
            producer=producer,
            wants=wants,
            check_interval_s=1.0,
        )
        loop.start()
        started.append(loop)
        return loop

    yield start
    for loop in started:
        await loop.stop()


@pytest.mark.usefixtures("ledger_tables")
async def test_poison_records_go_to_the_dlq_and_the_loop_keeps_going(
    broker: str,
    producer: EventProducer,
    database: Database,
    running_loop: Callable[..., ConsumerLoop],
) -> None:
    topic = ledger.new_topic()
    handler = Recorder(database, explode_on="explode")
    loop = running_loop(topic, handler)
    key = f"conv-{uuid.uuid4().hex}"
    before = interaction(conversation_key=key)
    unprocessable = interaction(conversation_key=key, content={"text": "explode"})
    after = interaction(conversation_key=key)
    await producer.publish_many(
        [
            record_of(topic, before),
            OutgoingRecord(topic, key.encode(), b"{not json"),
            OutgoingRecord(topic, key.encode(), b'{"event_id": "not-a-uuid"}'),
            record_of(topic, unprocessable),
            record_of(topic, after),
        ]
    )

    await wait_until(lambda: after in handler.seen)

    assert handler.seen == [before, after]
    assert await ledger.count_of(database, key) == 2
    dead = await read_topic(broker, dead_letter_topic(topic), until=lambda r: len(r) >= 3)
    assert [r.value for r in dead] == [
        b"{not json",
        b'{"event_id": "not-a-uuid"}',
        unprocessable.to_json(),
    ]
    for record in dead:
        headers = dict(record.headers)
        assert headers["dlq.consumer"] == loop.group_id.encode()
        assert headers["dlq.topic"] == topic.encode()
        assert headers["dlq.error"]
    assert b"undecodable" in dict(dead[0].headers)["dlq.error"]
    assert b"cannot be processed" in dict(dead[2].headers)["dlq.error"]


@pytest.mark.usefixtures("ledger_tables")
async def test_records_the_loop_does_not_want_are_neither_decoded_nor_handled(
    broker: str,
    platform: PlatformSettings,
    producer: EventProducer,
    database: Database,
    running_loop: Callable[..., ConsumerLoop],
) -> None:
    topic = ledger.new_topic()
    await ensure_topics(platform, [topic])  # with the partitions counted on below
    handler = Recorder(database)
    running_loop(topic, handler, lambda record: record.key.startswith(b"wanted:"))
    # Every record in one partition, so they arrive in the order they were sent.
    wanted_key = f"wanted:{uuid.uuid4().hex}"
    partitions = list(range(platform.kafka_topic_partitions))
    partition_of = DefaultPartitioner()
    target = partition_of(wanted_key.encode(), partitions, partitions)
    other_key = next(
        key
        for key in (f"other:{n}" for n in range(10_000))
        if partition_of(key.encode(), partitions, partitions) == target
    )
    wanted = [interaction(conversation_key=wanted_key) for _ in range(3)]
    other = interaction(conversation_key=other_key)
    await producer.publish_many(
        [
            record_of(topic, wanted[0]),
            record_of(topic, other),
            OutgoingRecord(topic, other_key.encode(), b"{not json"),
            record_of(topic, wanted[1]),
            record_of(topic, wanted[2]),
        ]
    )

    await wait_until(lambda: wanted[2] in handler.seen)

    assert handler.seen == wanted
    # The undecodable record was never looked at, so it is not dead-lettered either.
    dead = await read_topic(
        broker, dead_letter_topic(topic), until=lambda records: True, settle=1.0
    )
    assert dead == []


@pytest.mark.usefixtures("ledger_tables")
async def test_a_crash_between_processing_and_commit_reprocesses_and_counts_once(
    broker: str,
    database_url: str,
    producer: EventProducer,
    database: Database,
    platform: PlatformSettings,
) -> None:
    topic = ledger.new_topic()
    group = f"test-{uuid.uuid4().hex[:8]}"
    event = interaction()
    await producer.publish(record_of(topic, event))

    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker, "DATABASE_URL": database_url}
    crashed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.crashing_consumer", topic, group, env=env
    )
    assert await asyncio.wait_for(crashed.wait(), 90) == CRASHED
    assert await ledger.count_of(database, event.conversation_key) == 1

    # The offset was never committed: the next member of the group gets the record again.
    handler = Recorder(database)
    settings = platform.model_copy(update={"kafka_session_timeout_ms": 6000})
    loop = ConsumerLoop(
        settings=settings,
        group_id=group,
        decoders={topic: InteractionEvent.from_json},
        handle=handler,
        producer=producer,
    )
    loop.start()
    try:
        await wait_until(lambda: event in handler.seen, timeout=60)
    finally:
        await loop.stop()
    assert await ledger.count_of(database, event.conversation_key) == 1
