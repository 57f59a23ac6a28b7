"""The golden day: every KPI the API returns equals the one computed from the script."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from shared.events import MessageStatus
from tests.metrics.by_hand import expected, expected_backlog, items_of
from tests.metrics.conftest import ADMIN
from tests.metrics.scenario import Day

DELIVERY_MEASURES = (
    "reply_sent",
    "reply_failed",
    "reply_delivered",
    "reply_read",
    "reply_undelivered",
)


async def kpis(url: str, day: Day, granularity: str = "day", **filters: str) -> dict[str, Any]:
    params = {
        "start": day.start.isoformat(),
        "end": day.end.isoformat(),
        "granularity": granularity,
    }
    async with httpx.AsyncClient(base_url=url, headers=ADMIN, timeout=30) as client:
        response = await client.get("/kpis", params=params | filters)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def comparable(kpis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {"value": k["value"], "counts": k["counts"], "stats": k["stats"]}
        for name, k in kpis.items()
    }


def test_the_script_stays_inside_its_day_and_covers_every_case(golden_day: Day) -> None:
    day = golden_day
    assert all(day.start <= item.at < day.end for item in items_of(day))
    assert len(day.scripts) >= 200
    assert {s.channel for s in day.scripts} == {"phone", "chat", "social", "email"}
    waits = [s.abandon_wait_ms for s in day.scripts if s.abandon_wait_ms is not None]
    assert any(w < 5000 for w in waits)
    assert any(w >= 5000 for w in waits)
    assert any(s.reopens for s in day.scripts)
    assert any(s.transfers for s in day.scripts)
    assert any(s.csat for s in day.scripts)
    assert any(s.nps for s in day.scripts)
    assert any(s.bot_replies for s in day.scripts)
    replied = [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ]
    statuses = [[o.status for o in s.outcomes if o.counted] for s in day.scripts]
    assert any(line[i : i + 3] == replied for line in statuses for i in range(len(line)))
    assert any(MessageStatus.FAILED in line for line in statuses)
    assert any(o.agent is None and o.counted for s in day.scripts for o in s.outcomes)
    outcomes = [o for s in day.scripts for o in s.outcomes]
    # A provider's own "sent" receipt, and a reply the provider could not deliver.
    assert any(o.status is MessageStatus.SENT and not o.own and not o.counted for o in outcomes)
    assert any(o.measure == "reply_undelivered" for o in outcomes)
    assert any(not o.counted for s in day.scripts for o in s.outcomes)
    # After-contact work: on calls and messages, and a later wrap-up handle time must not take.
    assert any(s.wrap_ups and s.channel == "phone" for s in day.scripts)
    assert any(len(s.wrap_ups) > 1 for s in day.scripts)
    # Occupancy from work, overall and per channel and queue.
    states = {state for changes in day.activity.values() for _, state, _ in changes}
    assert {"handling", "wrap_up", "idle", "off"} <= states
    for scope in ({}, {"channel": "chat"}, {"queue": day.queues[2]}):
        occupancy = expected(day, day.start, day.end, **scope)["occupancy"]
        assert 0 < occupancy["value"] < 100, scope
    # Business hours: billing queues have opening hours (email's a holiday), general ones none.
    for queue in day.queues:
        want = expected(day, day.start, day.end, queue=queue)
        calendar = want["first_resolution_time"]["value"]
        business = want["first_resolution_time_business_hours"]["value"]
        if queue.endswith("-billing"):
            assert business < calendar, queue
        else:
            assert business == calendar, queue


async def test_day_totals_match_the_script(metrics_url: str, golden_day: Day) -> None:
    day = golden_day
    report = await kpis(metrics_url, day)
    assert comparable(report["totals"]) == expected(day, day.start, day.end)
    for name, kpi in report["totals"].items():
        assert kpi["formula"], name


async def test_totals_per_channel_queue_and_agent_match_the_script(
    metrics_url: str, golden_day: Day
) -> None:
    day = golden_day
    for channel in ("phone", "chat", "social", "email"):
        report = await kpis(metrics_url, day, channel=channel)
        assert comparable(report["totals"]) == expected(day, day.start, day.end, channel=channel), (
            channel
        )
    for queue in day.queues:
        report = await kpis(metrics_url, day, queue=queue)
        assert comparable(report["totals"]) == expected(day, day.start, day.end, queue=queue), queue
        open_, waiting, oldest = expected_backlog(day, queue)
        backlog = report["backlog"]
        assert (backlog["open"], backlog["waiting"]) == (open_, waiting), queue
        since = backlog["oldest_waiting_since"]
        assert (None if since is None else datetime.fromisoformat(since)) == oldest
    for agent in day.agents:
        report = await kpis(metrics_url, day, agent=agent)
        assert comparable(report["totals"]) == expected(day, day.start, day.end, agent=agent), agent


async def test_hour_buckets_hold_what_happened_in_that_hour(
    metrics_url: str, golden_day: Day
) -> None:
    day = golden_day
    report = await kpis(metrics_url, day, granularity="hour")
    buckets = {datetime.fromisoformat(b["start"]): b["kpis"] for b in report["buckets"]}
    busy_hours = {item.at.replace(minute=0, second=0, microsecond=0) for item in items_of(day)}
    assert busy_hours <= set(buckets)
    for start, bucket in buckets.items():
        want = expected(day, start, start + timedelta(hours=1))
        assert comparable(bucket) == want, start
    assert comparable(report["totals"]) == expected(day, day.start, day.end)


async def test_minute_buckets_add_up_to_the_day(metrics_url: str, golden_day: Day) -> None:
    day = golden_day
    report = await kpis(metrics_url, day, granularity="minute", channel="chat")
    assert comparable(report["totals"]) == expected(day, day.start, day.end, channel="chat")
    for bucket in report["buckets"][:50]:
        start = datetime.fromisoformat(bucket["start"])
        want = expected(day, start, start + timedelta(minutes=1), channel="chat")
        assert comparable(bucket["kpis"]) == want, start


async def test_volume_by_channel_and_provider(metrics_url: str, golden_day: Day) -> None:
    day = golden_day
    report = await kpis(metrics_url, day)
    measures = ("inbound", "outbound", "automated", *DELIVERY_MEASURES)
    want: dict[tuple[str, str], dict[str, int]] = {}
    for item in items_of(day):
        if item.measure in measures:
            line = want.setdefault((item.channel, item.provider), dict.fromkeys(measures, 0))
            line[item.measure] += 1
    got = {
        (line["channel"], line["provider"]): {k: line[k] for k in measures}
        for line in report["volume_by_provider"]
    }
    assert got == want


async def test_bad_queries_are_400s_naming_the_problem(metrics_url: str) -> None:
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN) as client:
        wrong_granularity = await client.get("/kpis", params={"granularity": "week"})
        reversed_range = await client.get(
            "/kpis", params={"start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"}
        )
        naive = await client.get(
            "/kpis", params={"start": "2024-01-01T00:00:00", "end": "2024-01-02T00:00:00"}
        )
        too_many = await client.get(
            "/kpis",
            params={
                "start": "2020-01-01T00:00:00Z",
                "end": "2024-01-01T00:00:00Z",
                "granularity": "minute",
            },
        )
    assert wrong_granularity.status_code == 400
    assert "granularity" in wrong_granularity.json()["message"]
    assert reversed_range.status_code == 400
    assert "before" in reversed_range.json()["message"]
    assert naive.status_code == 400
    assert "time zone" in naive.json()["message"]
    assert too_many.status_code == 400
    assert "buckets" in too_many.json()["message"]
