"""One metrics service and one published golden day for every metrics test (joins are slow)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import ColumnElement, func, select

from services.metrics.app import create_app
from services.metrics.models import processed_event
from services.metrics.settings import MetricsSettings
from shared.db import Database
from shared.events import INTERACTIONS_TOPIC, ROUTING_TOPIC, InteractionEvent
from shared.kafka import EventProducer, OutgoingRecord
from tests.metrics.scenario import Day, publish_order, script_day
from tests.support.server import serving

ADMIN_TOKEN = "dev-metrics-admin-token"
#: Headers of every KPI read in the tests: the admin may read everything.
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
GOLDEN_SEED = 20261122


def record_of(event: Any) -> OutgoingRecord:
    """The record a connector or routing would publish for ``event``."""
    if isinstance(event, InteractionEvent):
        return OutgoingRecord(INTERACTIONS_TOPIC, event.kafka_key, event.to_json())
    key = event.conversation_key or event.agent_id or str(event.event_id)
    return OutgoingRecord(ROUTING_TOPIC, key.encode(), event.to_json())


async def publish(producer: EventProducer, events: Sequence[Any]) -> None:
    for start in range(0, len(events), 500):
        await producer.publish_many([record_of(e) for e in events[start : start + 500]])


async def wait_processed(
    database: Database,
    event_ids: Iterable[uuid.UUID],
    timeout: float = 120,
    *,
    kept_in: ColumnElement[uuid.UUID] = processed_event.c.event_id,
) -> None:
    """Wait until the metrics consumer has committed every one of ``event_ids`` (to the
    event-id column ``kept_in``: processed events by default)."""
    wanted = list(set(event_ids))
    deadline = time.monotonic() + timeout
    while True:
        async with database.transaction() as session:
            done = await session.scalar(select(func.count()).where(kept_in.in_(wanted)))
        if done == len(wanted):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"metrics has {done} of {len(wanted)} events in {kept_in}")
        await asyncio.sleep(0.3)


@pytest.fixture(scope="package")
async def metrics_url(stack_env: None) -> AsyncIterator[str]:
    group = f"metrics-test-{uuid.uuid4().hex}"
    settings = MetricsSettings(
        consumer_group=group, privacy_group=f"{group}-privacy", gauge_refresh_s=1
    )
    async with serving(create_app(settings)) as url:
        yield url


@dataclass(frozen=True)
class Golden:
    day: Day
    events: list[Any]


@pytest.fixture(scope="package")
async def golden(metrics_url: str, producer: EventProducer, database: Database) -> Golden:
    """The scripted day, published once (shuffled, with duplicates) and fully consumed."""
    day = script_day(GOLDEN_SEED)
    events, duplicates = publish_order(day, GOLDEN_SEED)
    await publish(producer, events[: len(events) // 2] + duplicates + events[len(events) // 2 :])
    await wait_processed(database, (e.event_id for e in events))
    return Golden(day, events)


@pytest.fixture(scope="package")
def golden_day(golden: Golden) -> Day:
    return golden.day
