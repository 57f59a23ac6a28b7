"""No token in the logs: access lines are redacted, SQL errors and dead letters carry no values."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.db import Database
from shared.events import InteractionEvent
from shared.kafka import ConsumerLoop, EventProducer, OutgoingRecord, dead_letter_topic
from shared.kafka.topics import ensure_topics
from shared.service import create_service_app
from shared.settings import PlatformSettings
from tests.factories import interaction
from tests.support import ledger
from tests.support.kafka import read_topic
from tests.support.server import serving

SECRET = "secret-value-4f1c"


async def test_the_access_log_shows_no_token(
    platform: PlatformSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_service_app(name="probe", description="log probe", platform=platform)
    root = logging.getLogger()
    handlers = root.handlers[:]
    try:
        # The access log is on by default (SWITCHBOARD_ACCESS_LOG).
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
            await client.get(f"/chat/stream?token={SECRET}&after=3")
            await client.get(f"/healthz?hub.mode=subscribe&hub.verify_token={SECRET}")
            await client.get(f"/healthz?crc_token={SECRET}&signature={SECRET}")
    finally:
        # The app's logging writes to this test's captured stderr, closed after it.
        root.handlers[:] = handlers

    logged = capsys.readouterr().err
    lines = [orjson.loads(line) for line in logged.splitlines() if line.startswith("{")]
    access_lines = [line["message"] for line in lines if line["logger"] == "uvicorn.access"]
    assert len(access_lines) == 3, logged
    assert SECRET not in logged
    assert "/chat/stream?token=[redacted]&after=3" in access_lines[0]
    assert "hub.mode=subscribe&hub.verify_token=[redacted]" in access_lines[1]
    assert "crc_token=[redacted]&signature=[redacted]" in access_lines[2]


async def test_a_failed_statement_does_not_quote_its_parameters(database: Database) -> None:
    with pytest.raises(DBAPIError) as failed:
        async with database.transaction() as session:
            await session.execute(text("SELECT CAST(:value AS text), 1 / 0"), {"value": SECRET})

    assert SECRET not in str(failed.value)


async def test_a_dead_letter_names_the_error_without_the_values(
    broker: str, platform: PlatformSettings, producer: EventProducer, database: Database
) -> None:
    topic = ledger.new_topic()
    # Before the loop starts, so that the DLQ exists when the test begins to read it.
    await ensure_topics(platform, [topic])
    event = interaction(content={"text": SECRET})

    async def store_in_an_integer(events: Sequence[InteractionEvent]) -> None:
        async with database.transaction() as session:
            for e in events:
                text_ = e.content.text if e.content else ""
                await session.execute(
                    text("SELECT CAST(CAST(:value AS text) AS integer)"), {"value": text_}
                )

    loop = ConsumerLoop(
        settings=platform,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        decoders={topic: InteractionEvent.from_json},
        handle=store_in_an_integer,
        producer=producer,
    )
    loop.start()
    try:
        await producer.publish_many(
            [
                OutgoingRecord(topic, event.kafka_key, event.to_json()),
                # Undecodable: pydantic's message would quote the input.
                OutgoingRecord(topic, b"bad", b'{"event_id": "' + SECRET.encode() + b'"}'),
            ]
        )
        dead = await read_topic(
            broker, dead_letter_topic(topic), until=lambda records: len(records) == 2, timeout=60
        )
    finally:
        await loop.stop()

    errors = {record.key: dict(record.headers)["dlq.error"].decode() for record in dead}
    assert all(SECRET not in error for error in errors.values()), errors
    assert "DBAPIError" in errors[event.kafka_key]
    assert "22P02" in errors[event.kafka_key]
    assert errors[b"bad"].startswith("undecodable: ValidationError: ")
    assert "event_id" in errors[b"bad"]
