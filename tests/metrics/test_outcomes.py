"""The golden half year of customer outcomes: every figure of ``GET /kpis/outcomes`` and of
the customer export equals the one computed by hand from the script, after the events were
published shuffled and partly twice; late events move the figures of the periods they
belong to."""

from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from playwright.async_api import async_playwright
from sqlalchemy import select

from services.metrics.models import customer_event
from services.metrics.outcomes import Contacts, Customer
from services.metrics.repository.customers import CustomerStep
from shared.db import Database
from shared.events import (
    CUSTOMERS_TOPIC,
    PRIVACY_TOPIC,
    Channel,
    CustomerEvent,
    CustomerEventType,
    ErasureEvent,
    LifecycleStep,
    RoutingEvent,
)
from shared.kafka import EventProducer, OutgoingRecord
from tests.metrics import by_hand_outcomes as by_hand
from tests.metrics.conftest import ADMIN, ADMIN_TOKEN, record_of, wait_processed
from tests.metrics.scenario_customers import (
    RANGE_END,
    RANGE_START,
    HalfYear,
    publish_order,
    script_half_year,
)
from tests.metrics.test_dashboard import CHROMIUM_ARGS

SEED = 19950601


def _record(event: Any) -> OutgoingRecord:
    if isinstance(event, CustomerEvent):
        return OutgoingRecord(CUSTOMERS_TOPIC, str(event.contact_id).encode(), event.to_json())
    return record_of(event)


async def publish_and_wait(
    producer: EventProducer, database: Database, events: Sequence[Any], again: Sequence[Any] = ()
) -> None:
    """Publish ``events`` (``again`` in their middle) and wait until metrics kept them all."""
    half = len(events) // 2
    order = [*events[:half], *again, *events[half:]]
    for first in range(0, len(order), 500):
        await producer.publish_many([_record(e) for e in order[first : first + 500]])
    await wait_processed(database, (e.event_id for e in events if not isinstance(e, CustomerEvent)))
    await wait_processed(
        database,
        (e.event_id for e in events if isinstance(e, CustomerEvent)),
        kept_in=customer_event.c.event_id,
    )


@pytest.fixture(scope="module")
async def half_year(metrics_url: str, producer: EventProducer, database: Database) -> HalfYear:
    year = script_half_year(SEED)
    events, duplicates = publish_order(year, SEED)
    await publish_and_wait(producer, database, events, duplicates)
    return year


async def outcomes(url: str, start: datetime, end: datetime, period: str = "month") -> Any:
    params = {"start": start.isoformat(), "end": end.isoformat(), "period": period}
    async with httpx.AsyncClient(base_url=url, headers=ADMIN, timeout=60) as client:
        response = await client.get("/kpis/outcomes", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_script_covers_every_case(half_year: HalfYear) -> None:
    people = half_year.people
    assert len(people) >= 300
    assert sum(len(p.talks) for p in people) >= 500
    assert {t.channel for p in people for t in p.talks} == {"phone", "chat", "social", "email"}
    assert any(len(p.merges) == 2 for p in people)
    assert any(t.first_contact is not None for p in people for t in p.talks)
    kinds = [[s.kind for s in by_hand._ordered(p)] for p in people]
    churned, activated = CustomerEventType.CHURNED, CustomerEventType.ACTIVATED
    assert any(k[i] is churned and k[i + 1] is activated for k in kinds for i in range(len(k) - 1))
    starts = {start for start, _ in by_hand.months(RANGE_START, RANGE_END)}
    assert any(s.at in starts for p in people for s in p.lifecycle if s.kind is churned)
    assert {s.currency for p in people for s in p.lifecycle} >= {"EUR", "USD"}
    outcomes_ = {by_hand.outcome(t, p) for p in people for t in p.talks}
    assert {"repeat_contact", "first_contact_resolved"} <= outcomes_
    assert any(by_hand.missed(t) for p in people for t in p.talks)
    assert any(len(t.labels) == 2 for p in people for t in p.talks)
    for start, end in by_hand.months(RANGE_START, RANGE_END)[1:]:
        want = by_hand.period(half_year, start, end)
        assert want["active_at_start"] > 50, start
        assert want["churned"] > 0, start


async def test_every_month_equals_the_script(metrics_url: str, half_year: HalfYear) -> None:
    began = time.monotonic()
    report = await outcomes(metrics_url, RANGE_START, RANGE_END)
    took = time.monotonic() - began
    assert took < 10, took
    months = by_hand.months(RANGE_START, RANGE_END)
    assert [datetime.fromisoformat(p["start"]) for p in report["periods"]] == [
        start for start, _ in months
    ]
    for got, (start, end) in zip(report["periods"], months, strict=True):
        want = by_hand.period(half_year, start, end)
        kpis = got["kpis"]
        counts = kpis["retention"]["counts"]
        assert (counts["active_at_start"], counts["churned"]) == (
            want["active_at_start"],
            want["churned"],
        ), start
        assert kpis["retention"]["value"] == want["retention"], start
        assert kpis["churn_rate"]["value"] == want["churn_rate"], start
        for name in ("first_contact_resolution", "repeat_contact_rate"):
            value, fcr_counts = want[name]
            assert (kpis[name]["value"], kpis[name]["counts"]) == (value, fcr_counts), (name, start)
        revenue = {
            line["currency"]: (
                Decimal(line["revenue"]),
                line["customers"],
                Decimal(line["per_customer"]),
            )
            for line in got["revenue"]
        }
        assert revenue == want["revenue"], start
        split = {
            (s["by"], g["group"]): (g["active_at_start"], g["churned"])
            for s in got["service"]
            for g in s["groups"]
        }
        assert {k: v for k, v in split.items() if v[0]} == want["split"], start
        for s in got["service"]:
            assert sum(g["active_at_start"] for g in s["groups"]) == want["active_at_start"]
    totals = by_hand.fcr(half_year, RANGE_START, RANGE_END)
    for name, (value, counts) in totals.items():
        assert (report["totals"][name]["value"], report["totals"][name]["counts"]) == (
            value,
            counts,
        )
    lifetime = {
        (c["cohort"], c["currency"]): (
            c["customers"],
            Decimal(c["revenue"]),
            Decimal(c["mean"]),
            Decimal(c["median"]),
        )
        for c in report["lifetime_value"]
    }
    assert lifetime == by_hand.cohorts(half_year, RANGE_START, RANGE_END)
    assert all(report["formulas"].values())


async def test_weeks_and_days_equal_the_script(metrics_url: str, half_year: HalfYear) -> None:
    start, end = datetime(1995, 6, 1, tzinfo=UTC), datetime(1995, 6, 4, tzinfo=UTC)
    days = await outcomes(metrics_url, start, end, "day")
    assert len(days["periods"]) == 3
    for got in days["periods"]:
        s, e = datetime.fromisoformat(got["start"]), datetime.fromisoformat(got["end"])
        assert e - s == timedelta(days=1)
        want = by_hand.period(half_year, s, e)
        assert got["kpis"]["churn_rate"]["counts"]["churned"] == want["churned"]
        assert got["kpis"]["churn_rate"]["counts"]["active_at_start"] == want["active_at_start"]
    weeks = await outcomes(metrics_url, datetime(1995, 5, 1, tzinfo=UTC), end, "week")
    for got in weeks["periods"]:
        s, e = datetime.fromisoformat(got["start"]), datetime.fromisoformat(got["end"])
        assert s.weekday() == 0
        assert e - s == timedelta(days=7)
        want = by_hand.period(half_year, s, e)
        counts = got["kpis"]["retention"]["counts"]
        assert (counts["active_at_start"], counts["churned"]) == (
            want["active_at_start"],
            want["churned"],
        )


async def test_the_customer_export_equals_the_script(metrics_url: str, half_year: HalfYear) -> None:
    start, end = datetime(1995, 6, 1, tzinfo=UTC), datetime(1995, 7, 1, tzinfo=UTC)
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN, timeout=60) as client:
        response = await client.get(
            "/exports/customers.csv", params={"start": start.isoformat(), "end": end.isoformat()}
        )
    assert response.status_code == 200, response.text
    rows = {row["contact_id"]: row for row in csv.DictReader(io.StringIO(response.text))}
    # Everyone the CRM knew of by the end, and everyone who talked to us in the range.
    listed = [
        p
        for p in half_year.people
        if any(s.at < end for s in p.lifecycle)
        or any(
            at is not None and start <= at < end
            for t in p.talks
            for at in (t.opened_at, t.resolved_at, t.csat_at)
        )
    ]
    assert {str(p.root) for p in listed} <= set(rows)
    assert len(listed) < len(half_year.people)
    for person in listed:
        row = rows[str(person.root)]
        opened = [t for t in person.talks if start <= t.opened_at < end]
        resolved = [t for t in person.talks if t.resolved_at and start <= t.resolved_at < end]
        total = by_hand.revenue(person, None, end)
        # The export knows what happened before its end.
        first = min(
            (s.at for s in person.lifecycle if s.kind is not CustomerEventType.CHURNED),
            default=None,
        )
        first = first if first is not None and first < end else None
        assert row["merged_contact_ids"].split() == sorted(str(c) for c in person.contacts[1:])
        assert row["active_at_start"] == str(by_hand.was_active(person, start)).lower()
        assert row["churned_in_range"] == str(by_hand.churned_between(person, start, end)).lower()
        assert row["cohort"] == ("" if first is None else f"{first:%Y-%m}")
        assert int(row["conversations_opened"]) == len(opened)
        assert int(row["missed_service_level"]) == sum(by_hand.missed(t) for t in opened)
        assert int(row["repeat_contacts"]) == sum(
            by_hand.outcome(t, person) == "repeat_contact" for t in resolved
        )
        got_total = dict(item.split(":") for item in row["revenue_to_date"].split())
        assert {c: Decimal(v) for c, v in got_total.items()} == dict(total)


def _step(
    step: LifecycleStep, at: datetime, key: str, contact: uuid.UUID, **fields: Any
) -> RoutingEvent:
    conversation = uuid.uuid5(uuid.NAMESPACE_URL, key)
    return RoutingEvent(
        event_id=uuid.uuid5(conversation, f"{step.value}-{at.isoformat()}"),
        type=step,
        occurred_at=at,
        conversation_id=conversation,
        conversation_key=key,
        contact_id=contact,
        channel=Channel.CHAT,
        queue="outcomes-late",
        **fields,
    )


def _lifecycle(kind: CustomerEventType, at: datetime, contact: uuid.UUID) -> CustomerEvent:
    return CustomerEvent(
        event_id=uuid.uuid5(contact, f"{kind.value}-{at.isoformat()}"),
        type=kind,
        occurred_at=at,
        contact_id=contact,
        source="late-crm",
    )


def _month(report: Any, start: datetime) -> Any:
    return next(p for p in report["periods"] if datetime.fromisoformat(p["start"]) == start)


async def test_late_events_move_the_figures_of_their_period(
    metrics_url: str, producer: EventProducer, database: Database, half_year: HalfYear
) -> None:
    """A churn, a repeat contact and a merge that arrive after their month was read."""
    march, april, may = (datetime(1997, m, 1, tzinfo=UTC) for m in (3, 4, 5))
    run = uuid.uuid4().hex[:8]
    customer, absorbed = uuid.uuid4(), uuid.uuid4()
    first_key, repeat_key = f"late-{run}-1", f"late-{run}-2"
    resolved_at = datetime(1997, 3, 5, 12, tzinfo=UTC)
    await publish_and_wait(
        producer,
        database,
        [
            _lifecycle(CustomerEventType.ACTIVATED, datetime(1997, 1, 10, tzinfo=UTC), customer),
            _step(LifecycleStep.OPENED, datetime(1997, 3, 5, 9, tzinfo=UTC), first_key, customer),
            _step(LifecycleStep.RESOLVED, resolved_at, first_key, customer),
        ],
    )
    before = await outcomes(metrics_url, march, may)

    # The churn (under a contact merged into the customer later), the repeat and the merge.
    late = [
        _lifecycle(CustomerEventType.CHURNED, datetime(1997, 3, 20, tzinfo=UTC), absorbed),
        _step(LifecycleStep.OPENED, resolved_at + timedelta(days=2), repeat_key, absorbed),
        RoutingEvent(
            event_id=uuid.uuid5(absorbed, "merged"),
            type=LifecycleStep.CONTACT_MERGED,
            occurred_at=datetime(1997, 4, 2, tzinfo=UTC),
            contact_id=customer,
            merged_contact_id=absorbed,
        ),
    ]
    await publish_and_wait(producer, database, late, late[:1])
    after = await outcomes(metrics_url, march, may)

    def counts(report: Any, month: datetime, kpi: str) -> dict[str, int]:
        found: dict[str, int] = _month(report, month)["kpis"][kpi]["counts"]
        return found

    march_before, march_after = (counts(r, march, "churn_rate") for r in (before, after))
    assert march_after["churned"] == march_before["churned"] + 1
    assert march_after["active_at_start"] == march_before["active_at_start"]
    april_before, april_after = (counts(r, april, "churn_rate") for r in (before, after))
    assert april_after["active_at_start"] == april_before["active_at_start"] - 1
    assert april_after["churned"] == april_before["churned"]
    fcr_before, fcr_after = (counts(r, march, "first_contact_resolution") for r in (before, after))
    assert fcr_after["repeat_contact"] == fcr_before["repeat_contact"] + 1
    assert fcr_after["first_contact_resolved"] == fcr_before["first_contact_resolved"] - 1
    assert fcr_after["resolved"] == fcr_before["resolved"]


async def test_bad_outcome_queries_are_4xx(metrics_url: str) -> None:
    async with httpx.AsyncClient(base_url=metrics_url, headers=ADMIN) as client:
        wrong_period = await client.get("/kpis/outcomes", params={"period": "year"})
        reversed_range = await client.get(
            "/kpis/outcomes",
            params={"start": "1995-02-01T00:00:00Z", "end": "1995-01-01T00:00:00Z"},
        )
        naive = await client.get(
            "/kpis/outcomes", params={"start": "1995-01-01T00:00:00", "end": "1995-02-01T00:00:00"}
        )
        too_late = await client.get(
            "/kpis/outcomes",
            params={"start": "9999-01-01T00:00:00Z", "end": "9999-12-31T00:00:00Z"},
        )
        export_too_late = await client.get(
            "/exports/customers.csv", params={"end": "9999-12-31T23:59:59Z"}
        )
    async with httpx.AsyncClient(base_url=metrics_url) as anonymous:
        unauthenticated = await anonymous.get("/kpis/outcomes")
        export = await anonymous.get("/exports/customers.csv")
    assert wrong_period.status_code == 400
    assert "period" in wrong_period.json()["message"]
    assert reversed_range.status_code == 400
    assert naive.status_code == 400
    assert too_late.status_code == 400
    assert export_too_late.status_code == 400
    assert unauthenticated.status_code == 401
    assert export.status_code == 401


async def test_the_dashboard_shows_churn_by_service(metrics_url: str, half_year: HalfYear) -> None:
    june, july = datetime(1995, 6, 1, tzinfo=UTC), datetime(1995, 7, 1, tzinfo=UTC)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            page = await browser.new_page(viewport={"width": 1600, "height": 1200})
            await page.goto(f"{metrics_url}/dashboard?day=1995-06-15#token={ADMIN_TOKEN}")
            await page.wait_for_selector("body[data-outcomes-loaded='true']", timeout=20_000)
            rows = await page.eval_on_selector_all(
                "#outcomes-table tr[data-testid]",
                "els => els.map(e => [e.dataset.testid, e.dataset.active, e.dataset.churned])",
            )
            bars = await page.eval_on_selector_all(
                "#outcomes-chart rect", "els => els.map(e => [e.dataset.bucket, e.dataset.value])"
            )
        finally:
            await browser.close()
    want = by_hand.period(half_year, june, july)
    shown = {
        tuple(testid.split(":")[1:]): (int(active), int(churned))
        for testid, active, churned in rows
    }
    assert {k: v for k, v in shown.items() if v[0]} == want["split"]
    rates = {tuple(bucket.split(":")): float(value) for bucket, value in bars}
    for (by, group), (active, churned) in want["split"].items():
        assert rates[(by, group)] == pytest.approx(100 * churned / active), (by, group)


async def test_an_erased_contact_keeps_its_numbers_without_churn_reasons(
    metrics_url: str, producer: EventProducer, database: Database
) -> None:
    customer, absorbed = uuid.uuid4(), uuid.uuid4()
    churns = [
        CustomerEvent(
            event_id=uuid.uuid5(contact, "churned"),
            type=CustomerEventType.CHURNED,
            occurred_at=datetime(1998, 2, 1, tzinfo=UTC),
            contact_id=contact,
            source="late-crm",
            reason="moved to Example Street 1",
        )
        for contact in (customer, absorbed)
    ]
    merge = RoutingEvent(
        event_id=uuid.uuid5(absorbed, "merged"),
        type=LifecycleStep.CONTACT_MERGED,
        occurred_at=datetime(1998, 1, 2, tzinfo=UTC),
        contact_id=customer,
        merged_contact_id=absorbed,
    )
    await publish_and_wait(producer, database, [*churns, merge])
    erasure = ErasureEvent(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        erasure_id=uuid.uuid4(),
        contact_id=customer,
    )
    await producer.publish_many(
        [OutgoingRecord(PRIVACY_TOPIC, str(customer).encode(), erasure.to_json())]
    )
    ids = [e.event_id for e in churns]
    deadline = time.monotonic() + 60
    while True:
        async with database.transaction() as session:
            rows = (
                await session.execute(
                    select(customer_event.c.reason, customer_event.c.type).where(
                        customer_event.c.event_id.in_(ids)
                    )
                )
            ).all()
        if all(reason is None for reason, _ in rows):
            break
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.3)
    assert [kind for _, kind in rows] == ["customer.churned", "customer.churned"]


def test_merges_resolve_through_chains_and_crossed_merges() -> None:
    a, b, c, d, e = (uuid.UUID(int=n) for n in range(1, 6))
    contacts = Contacts({c: b, b: a, d: e, e: d})
    assert [contacts.root(x) for x in (a, b, c)] == [a, a, a]
    # Two merges crossing each other (d into e, e into d): the smaller id stands for both.
    assert contacts.root(d) == contacts.root(e) == d
    assert contacts.members([a, d]) == {a: [b, c], d: [e]}


def test_a_churn_at_the_instant_of_an_order_ends_the_activity() -> None:
    at = datetime(1999, 5, 1, tzinfo=UTC)
    contact = uuid.uuid4()
    customer = Customer(contact)
    for kind, when in (("customer.churned", at), ("customer.activated", at - timedelta(days=9))):
        customer.add(CustomerStep(uuid.uuid4(), kind, when, contact, None, None, None))
    customer.add(
        CustomerStep(uuid.uuid4(), "customer.order_placed", at, contact, Decimal(5), "EUR", None)
    )
    customer.settle()
    assert customer.active_at(at) is True  # only what happened strictly before counts
    assert customer.active_at(at + timedelta(microseconds=1)) is False
    assert customer.churned_in(at, at + timedelta(days=1)) is True
    assert customer.revenue(at, at + timedelta(days=1)) == {"EUR": Decimal(5)}
