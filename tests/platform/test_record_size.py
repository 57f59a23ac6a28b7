"""A record larger than the broker accepts is refused as such, and cannot jam the DLQ path."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

import pytest
from aiokafka import AIOKafkaProducer

from shared.errors import BrokerUnavailable, RecordTooLarge
from shared.events import InteractionEvent
from shared.kafka import ConsumerLoop, EventProducer, OutgoingRecord, dead_letter_topic
from shared.kafka.topics import ensure_topics
from shared.settings import PlatformSettings
from tests.factories import interaction
from tests.support import ledger
from tests.support.kafka import read_topic

#: A mail of control characters: each one is six bytes once escaped in JSON.
CONTROL_CHARACTERS = "\x01" * 200_000


async def test_an_oversized_event_is_refused_as_too_large_not_as_broker_unavailable(
    producer: EventProducer,
) -> None:
    topic = ledger.new_topic()
    event = interaction(content={"text": CONTROL_CHARACTERS})
    record = OutgoingRecord(topic, event.kafka_key, event.to_json())
    assert len(record.value) > 1_048_576

    with pytest.raises(RecordTooLarge) as refused:
        await producer.publish(record)

    assert not isinstance(refused.value, BrokerUnavailable)
    assert (refused.value.status_code, refused.value.code) == (413, "record_too_large")
    # The producer is not harmed: the next record goes through.
    await producer.publish(OutgoingRecord(topic, b"k", b"{}"))


@pytest.fixture
async def big_record_producer(broker: str) -> AsyncIterator[AIOKafkaProducer]:
    """Another producer allowed larger requests than ours: how an oversized record gets in."""
    other = AIOKafkaProducer(bootstrap_servers=broker, max_request_size=4 * 1_048_576)
    await other.start()
    yield other
    await other.stop()


async def refuse_everything(events: Sequence[InteractionEvent]) -> None:
    raise ValueError("the handler had a bug")


async def test_an_oversized_poison_record_is_dead_lettered_without_its_value(
    broker: str,
    platform: PlatformSettings,
    producer: EventProducer,
    big_record_producer: AIOKafkaProducer,
) -> None:
    topic = ledger.new_topic()
    # Before the loop starts, so that the DLQ exists when the test begins to read it.
    await ensure_topics(platform, [topic])
    oversized = interaction(content={"text": CONTROL_CHARACTERS})
    small = interaction()
    loop = ConsumerLoop(
        settings=platform,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        decoders={topic: InteractionEvent.from_json},
        handle=refuse_everything,
        producer=producer,
    )
    loop.start()
    try:
        await producer.publish(OutgoingRecord(topic, b"before", small.to_json()))
        sent = await big_record_producer.send_and_wait(
            topic, oversized.to_json(), key=oversized.kafka_key
        )
        await producer.publish(OutgoingRecord(topic, b"after", small.to_json()))
        dead = await read_topic(
            broker, dead_letter_topic(topic), until=lambda records: len(records) == 3, timeout=60
        )
    finally:
        await loop.stop()

    by_key = {record.key: record for record in dead}
    assert set(by_key) == {b"before", b"after", oversized.kafka_key}
    trace = by_key[oversized.kafka_key]
    headers = dict(trace.headers)
    assert trace.value == b""
    assert headers["dlq.value_dropped"] == str(len(oversized.to_json())).encode()
    assert headers["dlq.offset"] == str(sent.offset).encode()
    assert by_key[b"after"].value == small.to_json()
