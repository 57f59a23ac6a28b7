"""A database that is failing holds the batch; a record the database refuses is dead-lettered.

The failures are real Postgres errors, raised by the real server inside the handler's
transaction.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import Database
from shared.events import InteractionEvent
from shared.kafka import ConsumerLoop, EventProducer, OutgoingRecord, dead_letter_topic
from shared.kafka.topics import ensure_topics
from shared.settings import PlatformSettings
from tests.factories import interaction
from tests.support import ledger
from tests.support.kafka import read_topic

Failure = Callable[[Database, AsyncSession], Awaitable[None]]


def raising(sqlstate: str) -> Failure:
    """A failure Postgres raises with ``sqlstate``, for conditions a test cannot bring about."""
    statement = f"DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '{sqlstate}'; END $$"

    async def fail(database: Database, session: AsyncSession) -> None:
        await session.execute(text(statement))

    return fail


async def write_in_read_only_transaction(database: Database, session: AsyncSession) -> None:
    """25006, as on a standby after a failover."""
    await session.execute(text("SET TRANSACTION READ ONLY"))
    await session.execute(text("UPDATE ledger_test.contended SET n = n + 1 WHERE id = 1"))


async def lose_a_concurrent_update(database: Database, session: AsyncSession) -> None:
    """40001: another transaction changed the row this repeatable-read snapshot read."""
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
    await session.execute(text("SELECT n FROM ledger_test.contended WHERE id = 1"))
    async with database.transaction() as other:
        await other.execute(text("UPDATE ledger_test.contended SET n = n + 1 WHERE id = 1"))
    await session.execute(text("UPDATE ledger_test.contended SET n = n + 1 WHERE id = 1"))


TRANSIENT: dict[str, Failure] = {
    "read-only after failover": write_in_read_only_transaction,
    "serialization failure": lose_a_concurrent_update,
    "deadlock (40P01)": raising("40P01"),
    "too many connections (53300)": raising("53300"),
    "disk full (53100)": raising("53100"),
    "admin shutdown (57P01)": raising("57P01"),
    "system error (58000)": raising("58000"),
    "connection failure (08006)": raising("08006"),
}


@pytest.fixture(scope="module")
async def contended_row(database: Database) -> None:
    await ledger.create_tables(database.engine)
    async with database.transaction() as session:
        await session.execute(
            text("CREATE TABLE IF NOT EXISTS ledger_test.contended (id int PRIMARY KEY, n int)")
        )
        await session.execute(
            text("INSERT INTO ledger_test.contended VALUES (1, 0) ON CONFLICT DO NOTHING")
        )


class FailingAtFirst:
    """A handler whose database fails ``failures`` times for each kind of failure in a batch.

    Each call raises the failure of the first event whose kind has not failed enough yet,
    so every kind's error is really raised, one call at a time.
    """

    def __init__(self, database: Database, *, failures: int) -> None:
        self.database = database
        self.failures = failures
        self.failed: Counter[str] = Counter()
        self.seen: list[InteractionEvent] = []

    async def __call__(self, events: Sequence[InteractionEvent]) -> None:
        for event in events:
            kind = event.content.text or "" if event.content else ""
            if self.failed[kind] < self.failures:
                self.failed[kind] += 1
                async with self.database.transaction() as session:
                    await self.fail(kind, session)
        await ledger.count_events(self.database, events)
        self.seen.extend(events)

    async def fail(self, kind: str, session: AsyncSession) -> None:
        failure = TRANSIENT.get(kind)
        if failure is None:
            # 22P02, invalid input: the record's fault, whatever the attempt.
            await session.execute(
                text("SELECT CAST(CAST(:value AS text) AS integer)"), {"value": kind}
            )
        else:
            await failure(self.database, session)


@pytest.fixture
async def loop_on() -> AsyncIterator[list[ConsumerLoop]]:
    started: list[ConsumerLoop] = []
    yield started
    for loop in started:
        await loop.stop()


def start_loop(
    platform: PlatformSettings, producer: EventProducer, topic: str, handler: FailingAtFirst
) -> ConsumerLoop:
    loop = ConsumerLoop(
        settings=platform,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        decoders={topic: InteractionEvent.from_json},
        handle=handler,
        producer=producer,
        check_interval_s=1.0,
    )
    loop.start()
    return loop


async def wait_for(handler: FailingAtFirst, count: int, timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while len(handler.seen) < count:
            await asyncio.sleep(0.05)


@pytest.mark.usefixtures("contended_row")
async def test_transient_database_errors_are_retried_and_never_dead_lettered(
    broker: str,
    platform: PlatformSettings,
    producer: EventProducer,
    database: Database,
    loop_on: list[ConsumerLoop],
) -> None:
    topic = ledger.new_topic()
    await ensure_topics(platform, [topic])
    # Once each: the loop's back-off doubles with every failure of a batch.
    handler = FailingAtFirst(database, failures=1)
    loop_on.append(start_loop(platform, producer, topic, handler))
    events = {
        kind: interaction(conversation_key=f"conv-{uuid.uuid4().hex}", content={"text": kind})
        for kind in TRANSIENT
    }
    await producer.publish_many(
        [OutgoingRecord(topic, e.kafka_key, e.to_json()) for e in events.values()]
    )

    await wait_for(handler, len(events))

    assert sorted(e.event_id for e in handler.seen) == sorted(e.event_id for e in events.values())
    for kind, event in events.items():
        assert handler.failed[kind] == 1, kind
        assert await ledger.count_of(database, event.conversation_key) == 1, kind
    dead = await read_topic(
        broker, dead_letter_topic(topic), until=lambda records: True, settle=1.0
    )
    assert dead == []


@pytest.mark.usefixtures("contended_row")
async def test_a_value_the_database_refuses_is_still_dead_lettered(
    broker: str,
    platform: PlatformSettings,
    producer: EventProducer,
    database: Database,
    loop_on: list[ConsumerLoop],
) -> None:
    topic = ledger.new_topic()
    await ensure_topics(platform, [topic])
    handler = FailingAtFirst(database, failures=10**6)
    loop_on.append(start_loop(platform, producer, topic, handler))
    refused = interaction(content={"text": "not-a-number"})
    await producer.publish(OutgoingRecord(topic, refused.kafka_key, refused.to_json()))

    dead = await read_topic(broker, dead_letter_topic(topic), timeout=60)

    assert [r.value for r in dead] == [refused.to_json()]
    error = dict(dead[0].headers)["dlq.error"]
    assert b"22P02" in error
    assert handler.seen == []
