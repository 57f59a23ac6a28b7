"""KPIs by label: label sets from routing.v1 kept latest-wins whatever their order, every KPI
filtered by label and grouped by it, labels put on after the figures were counted, the
leaderboards and the export; checked against figures worked out by hand."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from services.metrics import privacy as metrics_privacy
from services.metrics.settings import MetricsSettings
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
from shared.privacy import pseudonym
from tests.metrics.by_hand import expected, expected_backlog
from tests.metrics.conftest import ADMIN, publish, wait_processed
from tests.metrics.scenario import Day
from tests.metrics.test_golden_day import comparable

#: KPIs not counted per conversation: null under a label (the counts say why).
NOT_PER_CONVERSATION = ("volume", "delivery", "occupancy")


def _labeled(
    key: str, labels: list[str], at: datetime, event_id: uuid.UUID | None = None
) -> RoutingEvent:
    """The step routing publishes when a conversation's labels change: the whole set."""
    return RoutingEvent(
        event_id=event_id or uuid.uuid4(),
        type=LifecycleStep.LABELED,
        occurred_at=at,
        conversation_id=uuid.uuid5(uuid.NAMESPACE_URL, key),
        conversation_key=key,
        channel=Channel.CHAT,
        labels=sorted(labels),
    )


class Chat:
    """The events of one scripted chat conversation of the hand-made day."""

    def __init__(self, key: str, queue: str, provider: str, opened: datetime) -> None:
        self.key, self.queue, self.provider, self.opened = key, queue, provider, opened
        self.events: list[Any] = [
            self.step(LifecycleStep.OPENED, opened),
            self.step(LifecycleStep.QUEUED, opened),
            InteractionEvent(
                event_id=uuid.uuid4(),
                type=EventType.MESSAGE_RECEIVED,
                channel=Channel.CHAT,
                provider=provider,
                direction=Direction.INBOUND,
                occurred_at=opened,
                received_at=opened,
                customer=Customer(id=f"customer-{key}"),
                conversation_key=key,
            ),
        ]

    def step(self, step: LifecycleStep, at: datetime, agent: str | None = None) -> RoutingEvent:
        return RoutingEvent(
            event_id=uuid.uuid4(),
            type=step,
            occurred_at=at,
            conversation_id=uuid.uuid5(uuid.NAMESPACE_URL, self.key),
            conversation_key=self.key,
            channel=Channel.CHAT,
            queue=self.queue,
            agent_id=agent,
        )

    def answered(self, *, accepted: float, replied: float, resolved: float, agent: str) -> Chat:
        """Accepted, first replied to and resolved, seconds after the opening."""

        def at(seconds: float) -> datetime:
            return self.opened + timedelta(seconds=seconds)

        reply_at = at(replied)
        self.events += [
            self.step(LifecycleStep.ACCEPTED, at(accepted), agent),
            InteractionEvent(
                event_id=uuid.uuid4(),
                type=EventType.MESSAGE_SENT,
                channel=Channel.CHAT,
                provider=self.provider,
                direction=Direction.OUTBOUND,
                occurred_at=reply_at,
                received_at=reply_at,
                customer=Customer(id=f"customer-{self.key}"),
                conversation_key=self.key,
                agent_id=agent,
            ),
            self.step(LifecycleStep.RESOLVED, at(resolved), agent),
        ]
        return self

    def abandoned(self, *, after: float) -> Chat:
        self.events.append(
            self.step(LifecycleStep.ABANDONED, self.opened + timedelta(seconds=after))
        )
        return self


async def _get(url: str, path: str, params: dict[str, Any]) -> Any:
    async with httpx.AsyncClient(base_url=url, headers=ADMIN, timeout=30) as client:
        response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json() if "json" in response.headers["content-type"] else response.text


async def _labels_of(database: Database, keys: list[str]) -> dict[str, list[tuple[str, Any]]]:
    async with database.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT conversation_key, label, labeled_at FROM metrics.conversation_label "
                "WHERE conversation_key = ANY(:keys) ORDER BY conversation_key, label"
            ),
            {"keys": keys},
        )
    found: dict[str, list[tuple[str, Any]]] = {key: [] for key in keys}
    for key, label, at in rows:
        found[key].append((label, at))
    return found


async def test_kpis_of_a_label_equal_the_figures_worked_out_by_hand(
    metrics_url: str, producer: EventProducer, database: Database
) -> None:
    t = uuid.uuid4().hex[:8]
    day = datetime(1997, 1, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 3000)
    complaint, billing = f"complaint-{t}", f"billing-{t}"
    queue, provider = f"q-{t}", f"labels-{t}"
    a1, a2 = f"agent-{t}-1", f"agent-{t}-2"

    def chat(name: str, hour: int) -> Chat:
        return Chat(f"{provider}:{name}", queue, provider, day + timedelta(hours=hour))

    a = chat("a", 9).answered(accepted=30, replied=60, resolved=600, agent=a1)
    b = chat("b", 10).answered(accepted=90, replied=120, resolved=1200, agent=a2)
    c = chat("c", 11).abandoned(after=20)
    d = chat("d", 12).answered(accepted=10, replied=300, resolved=1800, agent=a1)
    counted = [e for conversation in (a, b, c, d) for e in conversation.events]
    await publish(producer, counted)
    await wait_processed(database, [e.event_id for e in counted])

    # Labels come after the figures were counted: they still count under them.
    hour = timedelta(hours=1)
    a_set = _labeled(a.key, [complaint], a.opened + 0.1 * hour)
    b_old = _labeled(b.key, [complaint], b.opened + 0.1 * hour)
    b_new = _labeled(b.key, [billing, complaint], b.opened + 0.2 * hour)
    c_old = _labeled(c.key, [complaint], c.opened + 0.1 * hour)
    # Two sets at the same time: the larger event id wins, whichever comes last.
    low, high = sorted([uuid.uuid4(), uuid.uuid4()])
    c_new = _labeled(c.key, [billing], c.opened + 0.2 * hour, event_id=high)
    c_tie = _labeled(c.key, [complaint], c.opened + 0.2 * hour, event_id=low)
    # Newest first, then the older ones, then a redelivery of one already counted.
    sets = [a_set, b_new, c_new, b_old, c_old, c_tie]
    await publish(producer, sets)
    await wait_processed(database, [e.event_id for e in sets])
    # Redeliveries, then a set older than any (new ids, which we can wait for): no change.
    stale = [_labeled(key, [], day) for key in (b.key, c.key)]
    await publish(producer, [b_new, c_old, *stale])
    await wait_processed(database, [e.event_id for e in stale])
    stored = await _labels_of(database, [a.key, b.key, c.key, d.key])
    assert stored == {
        a.key: [(complaint, a_set.occurred_at)],
        b.key: [(billing, b_new.occurred_at), (complaint, b_new.occurred_at)],
        c.key: [(billing, c_new.occurred_at)],
        d.key: [],
    }

    params = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    report = await _get(metrics_url, "/kpis", params | {"label": complaint, "granularity": "hour"})
    assert report["labels"] == [complaint]
    totals = report["totals"]
    # complaint: a and b. First responses 60 s and 120 s; first resolutions 600 s and 1200 s;
    # answers after 30 s (within chat's 60 s) and 90 s (not); handled 570 s and 1110 s.
    assert totals["volume"]["value"] is None
    assert totals["volume"]["counts"] == {"conversations": 2}
    assert totals["first_response_time"]["value"] == 90.0
    assert totals["first_response_time"]["counts"] == {"responded": 2, "total_ms": 180_000}
    assert totals["first_response_time"]["stats"] == {"mean": 90.0, "median": 60.0, "p90": 120.0}
    assert totals["first_resolution_time"]["value"] == 900.0
    assert totals["full_resolution_time"]["value"] == 900.0
    assert totals["handle_time"]["value"] == 840.0
    assert totals["handle_time"]["counts"] == {"handled": 2, "total_ms": 1_680_000}
    assert totals["service_level"]["value"] == 50.0
    assert totals["service_level"]["counts"]["denominator"] == 2
    assert totals["abandonment_rate"]["value"] == 0.0
    assert totals["abandonment_rate"]["counts"]["queued"] == 2
    assert totals["transfer_rate"]["value"] == 0.0
    assert totals["reopen_rate"]["counts"] == {"reopened": 0, "resolved": 2}
    for name in ("delivery", "occupancy"):
        assert totals[name]["value"] is None
        assert totals[name]["counts"] == {}
        assert "label" in totals[name]["formula"]
    assert report["volume_by_provider"] == []
    assert report["backlog"]["open"] == 0
    # Per hour: a's figures in 09:00, b's in 10:00.
    buckets = {b["start"]: b["kpis"] for b in report["buckets"]}
    nine = buckets[(day + 9 * hour).isoformat().replace("+00:00", "Z")]
    assert nine["first_response_time"]["value"] == 60.0
    assert nine["first_resolution_time"]["value"] == 600.0

    # billing: b (answered late) and c (abandoned after 20 s).
    billing_totals = (await _get(metrics_url, "/kpis", params | {"label": billing}))["totals"]
    assert billing_totals["volume"]["counts"] == {"conversations": 2}
    assert billing_totals["service_level"]["value"] == 0.0
    assert billing_totals["abandonment_rate"]["value"] == 50.0
    assert billing_totals["abandonment_rate"]["counts"]["abandoned"] == 1
    assert billing_totals["first_response_time"]["value"] == 120.0
    # Either label: a, b and c, each once.
    either = await _get(metrics_url, "/kpis", params | {"label": [complaint, billing]})
    assert either["totals"]["volume"]["counts"] == {"conversations": 3}
    assert either["totals"]["first_response_time"]["counts"]["total_ms"] == 180_000
    # With an agent: a1 answered a only.
    mine = (await _get(metrics_url, "/kpis", params | {"label": complaint, "agent": a1}))["totals"]
    assert mine["first_response_time"]["value"] == 60.0
    assert mine["handle_time"]["counts"] == {"handled": 1, "total_ms": 570_000}

    # Grouped by label: every KPI per label, the one with most handled contacts first.
    grouped = await _get(metrics_url, "/kpis/labels", params | {"label": [billing, complaint]})
    assert grouped["by"] == "label"
    assert [row["key"] for row in grouped["rows"]] == [complaint, billing]
    by_label = {row["key"]: row["kpis"] for row in grouped["rows"]}
    assert comparable(by_label[complaint]) == comparable(totals)
    assert comparable(by_label[billing]) == comparable(billing_totals)

    agents = await _get(metrics_url, "/kpis/agents", params | {"label": complaint})
    handle = {row["key"]: row["kpis"]["handle_time"]["value"] for row in agents["rows"]}
    assert handle == {a1: 570.0, a2: 1110.0}
    queues = await _get(metrics_url, "/kpis/queues", params | {"label": billing})
    (row,) = queues["rows"]
    assert row["key"] == queue
    assert row["kpis"]["abandonment_rate"]["value"] == 50.0

    exported = await _get(metrics_url, "/exports/conversations.csv", params | {"label": billing})
    rows = {r["conversation_key"]: r for r in csv.DictReader(io.StringIO(exported))}
    assert set(rows) == {b.key, c.key}
    assert rows[b.key]["labels"] == f"{billing};{complaint}"
    assert rows[c.key]["labels"] == billing


async def test_the_golden_day_by_label_equals_the_script(
    metrics_url: str, producer: EventProducer, database: Database, golden_day: Day
) -> None:
    day = golden_day
    t = uuid.uuid4().hex[:8]
    complaint = f"complaint-{t}"
    chosen = day.scripts[::3]  # the dashboard test labels others (every third from the second)
    sets = [_labeled(s.key, [complaint], day.start + timedelta(hours=23)) for s in chosen]
    await publish(producer, sets)
    await wait_processed(database, [e.event_id for e in sets])
    subset = replace(day, scripts=chosen)

    params = {"start": day.start.isoformat(), "end": day.end.isoformat(), "label": complaint}
    for granularity in ("day", "hour"):
        report = await _get(metrics_url, "/kpis", params | {"granularity": granularity})
        got = comparable(report["totals"])
        want = comparable(expected(subset, day.start, day.end))
        for name in want:
            if name in NOT_PER_CONVERSATION:
                continue
            assert got[name] == want[name], (granularity, name)
        conversations = want["volume"]["counts"]["conversations"]
        assert report["totals"]["volume"]["counts"] == {"conversations": conversations}
    backlog = report["backlog"]
    open_ = sum(expected_backlog(subset, q)[0] for q in day.queues)
    waiting = sum(expected_backlog(subset, q)[1] for q in day.queues)
    assert (backlog["open"], backlog["waiting"]) == (open_, waiting)

    queues = await _get(metrics_url, "/kpis/queues", params)
    for row in queues["rows"]:
        want = expected(subset, day.start, day.end, queue=row["key"])
        for name, kpi in row["kpis"].items():
            stats = {k: v for k, v in want[name]["stats"].items() if k not in ("median", "p90")}
            assert kpi["value"] == want[name]["value"], (row["key"], name)
            assert kpi["counts"] == want[name]["counts"], (row["key"], name)
            assert kpi["stats"] == stats, (row["key"], name)


async def test_a_bad_label_filter_is_refused(metrics_url: str) -> None:
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN, timeout=30) as client:
        for path in ("/kpis", "/kpis/labels", "/kpis/agents", "/exports/conversations.csv"):
            response = await client.get(path, params={"label": "Not a label"})
            assert response.status_code == 400, (path, response.text)
            assert response.json()["error"] == "bad_request"
        many = await client.get("/kpis", params={"label": [f"l{i}" for i in range(21)]})
        assert many.status_code == 400


async def test_an_erased_conversation_keeps_its_labels_under_its_pseudonym(
    metrics_url: str, producer: EventProducer, database: Database
) -> None:
    t = uuid.uuid4().hex[:8]
    day = datetime(1996, 1, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 300)
    complaint, billing = f"complaint-{t}", f"billing-{t}"
    a = Chat(f"sms:+1415{uuid.uuid4().int % 10**7:07d}:{t}", f"q-{t}", f"labels-{t}", day)
    a.answered(accepted=30, replied=60, resolved=600, agent=f"agent-{t}")
    first = _labeled(a.key, [complaint], day + timedelta(minutes=5))
    await publish(producer, [*a.events, first])
    await wait_processed(database, [e.event_id for e in [*a.events, first]])

    # What the erasure of the contact does in metrics (privacy.v1's handler).
    secret = MetricsSettings().pseudonym_secret
    async with database.transaction() as session:
        await metrics_privacy.ErasedKeys(secret).remember(session, [a.key])
        await metrics_privacy.pseudonymize_keys(session, [a.key], secret)
    alias = pseudonym(secret, a.key)
    assert await _labels_of(database, [a.key, alias]) == {
        a.key: [],
        alias: [(complaint, first.occurred_at)],
    }
    # A label set still on its way under the raw key lands on the pseudonym.
    later = _labeled(a.key, [billing], day + timedelta(minutes=6))
    await publish(producer, [later])
    await wait_processed(database, [later.event_id])
    assert await _labels_of(database, [a.key, alias]) == {
        a.key: [],
        alias: [(billing, later.occurred_at)],
    }
    params = {"start": day.isoformat(), "end": (day + timedelta(days=1)).isoformat()}
    totals = (await _get(metrics_url, "/kpis", params | {"label": billing}))["totals"]
    assert totals["first_response_time"]["value"] == 60.0
