"""Drills: a duplicate storm, and the metrics service killed mid-stream and restarted."""

import asyncio
import random
import signal

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.chat.schemas import GenericChatMessage
from services.chat.service import normalize_generic
from shared.clock import utc_now
from shared.kafka import interaction_record
from tests.drills.support import (
    CHAT_APP,
    METRICS_APP,
    chat_message,
    drill_tag,
    events_on_topic,
    eventually,
    metrics_counts,
    own_broker,
    post_message,
    services_on,
    start,
)

MESSAGES = 60


@pytest.mark.timeout(300)
async def test_each_webhook_sent_three_times_counts_as_the_single_send(database_url: str) -> None:
    once, thrice = drill_tag(), drill_tag()
    with own_broker() as broker:
        async with (
            services_on(broker, database_url, chat=CHAT_APP, metrics=METRICS_APP) as (_, procs),
            httpx.AsyncClient(base_url=procs["chat"].base_url, timeout=30) as client,
        ):
            single = [await post_message(client, once, n) for n in range(MESSAGES)]
            # Three copies of every message, shuffled so copies interleave with other messages.
            storm = [n for n in range(MESSAGES) for _ in range(3)]
            random.Random(7).shuffle(storm)
            for chunk in (storm[i : i + 12] for i in range(0, len(storm), 12)):
                statuses = await asyncio.gather(*(post_message(client, thrice, n) for n in chunk))
                assert set(statuses) == {202}
            assert set(single) == {202}

            duplicated = await events_on_topic(broker.bootstrap, thrice, at_least=3 * MESSAGES)
            assert len(duplicated) == 3 * MESSAGES
            assert len({e.event_id for e in duplicated}) == MESSAGES

            expected = (MESSAGES, MESSAGES)
            single_counts = await eventually(lambda: metrics_counts(database_url, once), expected)
            storm_counts = await eventually(lambda: metrics_counts(database_url, thrice), expected)
            assert single_counts == storm_counts == expected


async def publish_backlog(bootstrap: str, tag: str, count: int) -> None:
    """``count`` chat events of the drill, straight onto interactions.v1."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        received_at = utc_now()
        pending = []
        for n in range(count):
            body, _ = chat_message(tag, n)
            event = normalize_generic(
                GenericChatMessage.model_validate_json(body), received_at=received_at
            )
            record = interaction_record(event)
            pending.append(
                await producer.send(
                    record.topic, record.value, key=record.key, headers=list(record.headers)
                )
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


@pytest.mark.timeout(300)
async def test_metrics_killed_mid_stream_loses_nothing_and_counts_nothing_twice(
    database_url: str,
) -> None:
    tag, backlog = drill_tag(), 6000
    with own_broker() as broker:
        await publish_backlog(broker.bootstrap, tag, backlog)
        async with services_on(broker, database_url, metrics=METRICS_APP) as (stack, procs):
            # Kill it once it has committed part of the backlog, not all of it.
            for _ in range(600):
                events, _ = await metrics_counts(database_url, tag)
                if events > 0:
                    break
                await asyncio.sleep(0.1)
            procs["metrics"].popen.send_signal(signal.SIGKILL)
            procs["metrics"].popen.wait()
            killed_at, _ = await metrics_counts(database_url, tag)
            assert 0 < killed_at < backlog, "the kill did not land mid-stream"
            stack.stop(procs["metrics"])
            await asyncio.to_thread(start, stack, "metrics", METRICS_APP)

            counts = await eventually(
                lambda: metrics_counts(database_url, tag), (backlog, backlog), timeout=180
            )
            assert counts == (backlog, backlog)
