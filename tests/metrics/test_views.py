"""Leaderboards, the CSV export, the survey endpoint and the Prometheus gauges."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from shared.db import Database
from shared.events import EventType
from shared.kafka import EventProducer
from tests.factories import interaction
from tests.metrics.by_hand import expected, expected_backlog
from tests.metrics.conftest import ADMIN, publish, wait_processed
from tests.metrics.scenario import Day


def _day_params(day: Day) -> dict[str, str]:
    return {"start": day.start.isoformat(), "end": day.end.isoformat()}


def _without_percentiles(kpi: dict[str, Any]) -> dict[str, Any]:
    stats = {k: v for k, v in kpi["stats"].items() if k not in ("median", "p90")}
    return {"value": kpi["value"], "counts": kpi["counts"], "stats": stats}


async def test_agent_leaderboard_matches_the_script(metrics_url: str, golden_day: Day) -> None:
    day = golden_day
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN, timeout=30) as client:
        response = await client.get("/kpis/agents", params=_day_params(day))
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert {row["key"] for row in rows} == set(day.agents)
    handled = [row["kpis"]["transfer_rate"]["counts"]["handled"] for row in rows]
    assert handled == sorted(handled, reverse=True)
    for row in rows:
        want = expected(day, day.start, day.end, agent=row["key"])
        for name, kpi in row["kpis"].items():
            assert _without_percentiles(kpi) == _without_percentiles(want[name]), (row["key"], name)


async def test_queue_leaderboard_matches_the_script(metrics_url: str, golden_day: Day) -> None:
    day = golden_day
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN, timeout=30) as client:
        response = await client.get("/kpis/queues", params=_day_params(day))
    rows = {row["key"]: row["kpis"] for row in response.json()["rows"]}
    assert set(rows) == set(day.queues)
    for queue, kpis in rows.items():
        want = expected(day, day.start, day.end, queue=queue)
        assert set(kpis) == {
            "service_level",
            "abandonment_rate",
            "first_response_time",
            "handle_time",
            "csat",
        }
        for name, kpi in kpis.items():
            assert _without_percentiles(kpi) == _without_percentiles(want[name]), (queue, name)


async def test_csv_export_has_one_row_per_conversation_with_its_facts(
    metrics_url: str, golden_day: Day
) -> None:
    day = golden_day
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN, timeout=30) as client:
        response = await client.get("/exports/conversations.csv", params=_day_params(day))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = {row["conversation_key"]: row for row in csv.DictReader(io.StringIO(response.text))}
    assert set(rows) == {s.key for s in day.scripts}
    for s in day.scripts:
        row = rows[s.key]
        assert row["channel"] == s.channel
        assert row["queue"] == s.queue
        assert datetime.fromisoformat(row["opened_at"]) == s.opened_at
        assert int(row["reopen_count"]) == len(s.reopens)
        assert int(row["transfer_count"]) == len(s.transfers)
        assert row["agent_id"] == s.agent
        assert row["csat_score"] == ("" if s.csat is None else str(s.csat[0]))
        if s.replies:
            frt = (min(s.replies)[0] - s.opened_at).total_seconds()
            assert float(row["first_response_seconds"]) == frt
        else:
            assert row["first_response_seconds"] == ""
        if s.abandon_wait_ms is not None:
            assert float(row["abandon_wait_seconds"]) == s.abandon_wait_ms / 1000


async def test_survey_answers_are_checked_published_and_counted_once(
    metrics_url: str, producer: EventProducer, database: Database
) -> None:
    # A day of its own, far from the golden one.
    day = datetime(1999, 3, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 300)
    opened = interaction(occurred_at=day + timedelta(hours=9), received_at=day)
    key = opened.conversation_key
    await publish(producer, [opened])
    await wait_processed(database, [opened.event_id])
    answered_at = (day + timedelta(hours=10)).isoformat()
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN, timeout=30) as client:
        too_high = await client.post(
            "/surveys", json={"conversation_key": key, "kind": "csat", "score": 6}
        )
        too_low = await client.post(
            "/surveys", json={"conversation_key": key, "kind": "nps", "score": -1}
        )
        unknown_kind = await client.post(
            "/surveys", json={"conversation_key": key, "kind": "ces", "score": 3}
        )
        unknown_conversation = await client.post(
            "/surveys",
            json={"conversation_key": f"nobody:{uuid.uuid4()}", "kind": "nps", "score": 3},
        )
        answer = {"conversation_key": key, "kind": "csat", "score": 5, "answered_at": answered_at}
        first = await client.post("/surveys", json=answer)
        retry = await client.post("/surveys", json=answer)
        nps = await client.post(
            "/surveys",
            json={"conversation_key": key, "kind": "nps", "score": 3, "answered_at": answered_at},
        )
    for refused in (too_high, too_low, unknown_kind):
        assert refused.status_code == 422
        assert refused.json()["error"] == "validation_failed"
    assert "between 1 and 5" in too_high.text
    assert "between 0 and 10" in too_low.text
    assert unknown_conversation.status_code == 404
    assert first.status_code == 202, first.text
    assert retry.json()["event_id"] == first.json()["event_id"]
    await wait_processed(
        database, [uuid.UUID(first.json()["event_id"]), uuid.UUID(nps.json()["event_id"])]
    )

    params = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN, timeout=30) as client:
        totals = (await client.get("/kpis", params=params)).json()["totals"]
    assert totals["csat"]["counts"] == {"satisfied": 1, "answers": 1, "resolved": 0}
    assert totals["csat"]["value"] == 100.0
    assert totals["nps"]["counts"] == {"promoters": 0, "passives": 0, "detractors": 1, "answers": 1}
    assert totals["nps"]["value"] == -100.0
    assert totals["volume"]["counts"]["inbound"] == 1
    assert opened.type is EventType.MESSAGE_RECEIVED


def _gauge(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} missing from /metrics")


async def test_live_gauges_on_metrics(metrics_url: str, golden_day: Day) -> None:
    day = golden_day
    open_mine = sum(expected_backlog(day, q)[0] for q in day.queues)
    waiting_mine = sum(expected_backlog(day, q)[1] for q in day.queues)
    oldest = min(
        s.opened_at for s in day.scripts if s.answered_at is None and s.abandoned_at is None
    )
    deadline = time.monotonic() + 20
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN, timeout=30) as client:
        while True:
            text = (await client.get("/metrics")).text
            ready = (
                "switchboard_backlog_open" in text
                and _gauge(text, "switchboard_backlog_open") >= open_mine
                and _gauge(text, 'switchboard_agents{status="offline"}') >= len(day.agents)
            )
            if ready or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    assert _gauge(text, "switchboard_backlog_open") >= open_mine
    assert _gauge(text, "switchboard_backlog_waiting") >= waiting_mine
    # The golden day lies years back: its oldest waiting conversation is the longest wait.
    longest = _gauge(text, "switchboard_backlog_longest_wait_seconds")
    assert longest >= (datetime.now(UTC) - oldest).total_seconds() - 60
    assert _gauge(text, 'switchboard_agents{status="offline"}') >= len(day.agents)
    assert "switchboard_service_level_last_hour_percent" in text


async def test_a_range_the_database_or_python_cannot_hold_answers_4xx(metrics_url: str) -> None:
    """Found by the OpenAPI fuzz drill: an end in year 1 (no default start 24 h before it)
    and a NUL character in a dimension were 500s."""
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN) as client:
        for path in ("/kpis", "/kpis/agents", "/kpis/queues", "/exports/conversations.csv"):
            early = await client.get(path, params={"end": "0001-01-01T00:07:06Z"})
            nul = await client.get(path, params={"channel": "a\u0000b"})
            for response in (early, nul):
                assert 400 <= response.status_code < 500, (path, response.text)
