"""Rebuilding from the facts equals the incremental path; replaying the topics changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select

from services.metrics.models import kpi_bucket
from shared.db import Database
from shared.events import (
    Channel,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    RoutingEvent,
)
from shared.kafka import EventProducer
from tests.metrics.conftest import ADMIN_TOKEN, Golden, publish, wait_processed
from tests.metrics.scenario import Day


async def buckets_of(database: Database, day: Day) -> set[tuple[Any, ...]]:
    """Every non-zero bucket row of the day, all granularities."""
    kb = kpi_bucket
    async with database.transaction() as session:
        rows = await session.execute(
            select(kb).where(
                kb.c.bucket_start >= day.start,
                kb.c.bucket_start < day.end,
                or_(kb.c.n != 0, kb.c.total_ms != 0),
            )
        )
        return {tuple(row) for row in rows}


async def report(url: str, day: Day, granularity: str) -> dict[str, Any]:
    params = {
        "start": day.start.isoformat(),
        "end": day.end.isoformat(),
        "granularity": granularity,
    }
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        body: dict[str, Any] = (await client.get("/kpis", params=params)).json()
    body["backlog"].pop("as_of")
    body["backlog"].pop("longest_wait_seconds")
    return body


async def test_rebuild_from_facts_equals_the_incremental_buckets(
    metrics_url: str, golden_day: Day, database: Database
) -> None:
    incremental = await buckets_of(database, golden_day)
    before = await report(metrics_url, golden_day, "hour")
    async with httpx.AsyncClient(base_url=metrics_url, timeout=120) as client:
        refused = await client.post("/admin/rebuild")
        wrong = await client.post("/admin/rebuild", headers={"Authorization": "Bearer nope"})
        rebuilt = await client.post(
            "/admin/rebuild", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
    assert refused.status_code == 401
    assert wrong.status_code == 401
    assert rebuilt.status_code == 200, rebuilt.text
    assert rebuilt.json()["conversations"] >= len(golden_day.scripts)

    assert len(incremental) > 1000
    assert await buckets_of(database, golden_day) == incremental
    assert await report(metrics_url, golden_day, "hour") == before


def markers(day: Day) -> list[InteractionEvent | RoutingEvent]:
    """Events that change no KPI, one per conversation key on both topics: published after
    a replay, their being processed proves every record before them on their partition was."""
    at = day.start + timedelta(hours=23)
    out: list[InteractionEvent | RoutingEvent] = []
    for s in day.scripts:
        out.append(
            InteractionEvent(
                event_id=uuid.uuid4(),
                type=EventType.MESSAGE_STATUS,
                channel=Channel(s.channel),
                provider=s.provider,
                direction=Direction.OUTBOUND,
                occurred_at=at,
                received_at=at,
                customer=Customer(id=f"customer-{s.key}"),
                conversation_key=s.key,
            )
        )
        out.append(
            RoutingEvent(
                event_id=uuid.uuid4(),
                type=LifecycleStep.OFFERED,
                occurred_at=at,
                conversation_key=s.key,
                channel=Channel(s.channel),
                queue=s.queue,
            )
        )
    return out


async def test_replaying_every_event_changes_nothing(
    metrics_url: str, golden: Golden, producer: EventProducer, database: Database
) -> None:
    day = golden.day
    before_buckets = await buckets_of(database, day)
    before = await report(metrics_url, day, "hour")

    trailing = markers(day)
    await publish(producer, [*golden.events, *trailing])
    await wait_processed(database, (e.event_id for e in trailing))

    assert await buckets_of(database, day) == before_buckets
    assert await report(metrics_url, day, "hour") == before
