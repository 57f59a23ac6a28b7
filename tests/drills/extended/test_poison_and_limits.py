"""Drills: poison records on the topic, oversized bodies and slow clients at the door."""

import asyncio
import uuid

import httpx
from aiokafka import AIOKafkaProducer

from services.chat.settings import ChatSettings
from shared.events import INTERACTIONS_TOPIC
from tests.drills.extended.test_duplicates_and_restarts import publish_backlog
from tests.drills.support import (
    CHAT_APP,
    METRICS_APP,
    drill_tag,
    eventually,
    metrics_counts,
    own_broker,
    post_message,
    services_on,
)
from tests.support.kafka import read_topic

GOOD, POISON = 300, 25


async def test_poison_records_go_to_the_dlq_with_a_reason_and_the_rest_flows(
    database_url: str,
) -> None:
    tag = drill_tag()
    marker = uuid.uuid4().hex
    poison = [
        *(f'{{"not": "an event", "marker": "{marker}-{n}"}}'.encode() for n in range(POISON - 5)),
        *(f"{marker}-{n} is not JSON at all".encode() for n in range(POISON - 5, POISON)),
    ]
    with own_broker() as broker:
        await publish_backlog(broker.bootstrap, tag, GOOD // 2)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
        await producer.start()
        try:
            for value in poison:
                await producer.send_and_wait(INTERACTIONS_TOPIC, value, key=tag.encode())
        finally:
            await producer.stop()
        await publish_backlog(broker.bootstrap, tag + "b", GOOD // 2)
        async with services_on(broker, database_url, metrics=METRICS_APP):
            half = (GOOD // 2, GOOD // 2)
            assert await eventually(lambda: metrics_counts(database_url, tag), half) == half
            assert await eventually(lambda: metrics_counts(database_url, tag + "b"), half) == half

            def dead(records: list[object]) -> list[object]:
                return [r for r in records if marker.encode() in r.value]  # type: ignore[attr-defined]

            records = await read_topic(
                broker.bootstrap,
                INTERACTIONS_TOPIC + ".dlq",
                until=lambda rs: len(dead(rs)) >= POISON,
                timeout=60,
                settle=2.0,
            )
            ours = dead(records)
            assert len(ours) == POISON
            for record in ours:
                headers = dict(record.headers)  # type: ignore[attr-defined]
                assert headers["dlq.error"], "a dead letter without its reason"
                assert headers["dlq.topic"] == INTERACTIONS_TOPIC.encode()


async def test_oversized_bodies_and_slow_clients_do_not_stop_the_others(database_url: str) -> None:
    tag = drill_tag()
    limit = ChatSettings().max_body_bytes
    with own_broker() as broker:
        async with (
            services_on(broker, database_url, chat=CHAT_APP) as (_, procs),
            httpx.AsyncClient(base_url=procs["chat"].base_url, timeout=30) as client,
        ):
            port = procs["chat"].port
            # Slow clients: each announces a body and sends only part of it, then stalls.
            stalled = []
            for _ in range(40):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(
                    b"POST /webhooks/generic HTTP/1.1\r\nHost: drill\r\n"
                    b'Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"mess'
                )
                await writer.drain()
                stalled.append((reader, writer))
            try:
                too_big = await client.post(
                    "/webhooks/generic",
                    content=b"x" * (limit + 1),
                    headers={"Content-Type": "application/json"},
                )
                assert too_big.status_code == 413
                assert too_big.json()["error"] == "payload_too_large"
                statuses = await asyncio.gather(*(post_message(client, tag, n) for n in range(50)))
                assert set(statuses) == {202}
            finally:
                for _, writer in stalled:
                    writer.close()
