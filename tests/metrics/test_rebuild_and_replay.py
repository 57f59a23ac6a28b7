"""Rebuilding from the facts equals the incremental path; replaying the topics changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select

from services.metrics.models import kpi_bucket
from shared.db import Database
from shared.events import (
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    MessageStatus,
    RoutingEvent,
    event_id_for,
)
from shared.kafka import EventProducer
from shared.outbound import status_event
from tests.factories import interaction
from tests.metrics.conftest import ADMIN, ADMIN_TOKEN, Golden, publish, wait_processed
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
    async with httpx.AsyncClient(base_url=url, headers=ADMIN, timeout=30) as client:
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


async def test_a_redelivered_reply_outcome_counts_once(
    metrics_url: str, producer: EventProducer, database: Database
) -> None:
    # A day of its own, far from the golden one; one conversation, so one partition and order.
    day = datetime(1998, 1, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 300)
    key = f"webchat:{uuid.uuid4().hex}"
    agent = f"agent-{uuid.uuid4().hex[:8]}"

    def reply(minute: int) -> InteractionEvent:
        reply_id = str(uuid.uuid4())
        at = day + timedelta(hours=9, minutes=minute)
        return interaction(
            event_id=event_id_for("routing", reply_id, EventType.MESSAGE_SENT),
            type=EventType.MESSAGE_SENT,
            direction=Direction.OUTBOUND,
            occurred_at=at,
            received_at=at,
            conversation_key=key,
            agent_id=agent,
            raw_ref=reply_id,
        )

    answered, refused = reply(0), reply(5)
    sent = status_event(answered, MessageStatus.SENT, at=answered.occurred_at)
    failed = status_event(refused, MessageStatus.FAILED, at=refused.occurred_at, reason="400")
    # The provider's receipt knows the message, not the agent who wrote it.
    delivered = sent.model_copy(
        update={
            "event_id": uuid.uuid4(),
            "content": Content(status=MessageStatus.DELIVERED),
            "agent_id": None,
            "status_of": None,
        }
    )
    await publish(producer, [sent, failed, delivered])
    await wait_processed(database, [sent.event_id, failed.event_id, delivered.event_id])
    marker = sent.model_copy(update={"event_id": uuid.uuid4(), "content": None})
    await publish(producer, [sent, failed, delivered, marker])
    await wait_processed(database, [marker.event_id])

    params = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN, timeout=30) as client:
        everyone = (await client.get("/kpis", params=params)).json()["totals"]["delivery"]
        mine = (await client.get("/kpis", params=params | {"agent": agent})).json()["totals"][
            "delivery"
        ]
    assert everyone["counts"] == {
        "sent": 1,
        "delivered": 1,
        "read": 0,
        "failed": 1,
        "undelivered": 0,
    }
    assert everyone["value"] == 50.0
    assert mine["counts"] == {"sent": 1, "delivered": 0, "read": 0, "failed": 1, "undelivered": 0}
