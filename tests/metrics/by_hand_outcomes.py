"""The customer outcome figures of a scripted half year, computed from the script alone
(the definitions of docs/metrics.md, "Customer outcomes", written out again)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from shared.events import CustomerEventType
from tests.metrics.scenario_customers import HalfYear, Lifecycle, Person, Talk

WINDOW = timedelta(days=7)
THRESHOLD_S = {"phone": 20, "chat": 60, "social": 3600, "email": 14400}
SHORT_ABANDON_S = 5


def months(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    found: list[tuple[datetime, datetime]] = []
    year, month = start.year, start.month
    while True:
        first = datetime(year, month, 1, tzinfo=UTC)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        following = datetime(year, month, 1, tzinfo=UTC)
        if first >= end:
            return found
        found.append((first, following))


def rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else 100 * numerator / denominator


def four_places(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def _ordered(person: Person) -> list[Lifecycle]:
    # At one instant a churn comes after an activation or an order.
    return sorted(person.lifecycle, key=lambda s: (s.at, s.kind is CustomerEventType.CHURNED))


def was_active(person: Person, at: datetime) -> bool:
    before = [s for s in _ordered(person) if s.at < at]
    return bool(before) and before[-1].kind is not CustomerEventType.CHURNED


def churned_between(person: Person, start: datetime, end: datetime) -> bool:
    return any(
        s.kind is CustomerEventType.CHURNED and start <= s.at < end for s in person.lifecycle
    )


def first_active(person: Person) -> datetime | None:
    times = [s.at for s in person.lifecycle if s.kind is not CustomerEventType.CHURNED]
    return min(times) if times else None


def revenue(person: Person, start: datetime | None, end: datetime) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for s in person.lifecycle:
        if (
            s.kind is CustomerEventType.ORDER_PLACED
            and s.at < end
            and (start is None or s.at >= start)
        ):
            assert s.currency is not None
            assert s.amount is not None
            sums[s.currency] += s.amount
    return sums


def missed(talk: Talk) -> bool:
    if talk.wait_s is not None:
        return talk.wait_s > THRESHOLD_S[talk.channel]
    return talk.abandon_s is not None and talk.abandon_s >= SHORT_ABANDON_S


def outcome(talk: Talk, person: Person) -> str | None:
    if talk.resolved_at is None:
        return None
    for other in person.talks:
        if other is not talk and talk.resolved_at < other.opened_at < talk.resolved_at + WINDOW:
            return "repeat_contact"
    return "first_contact_resolved"


def fcr(year: HalfYear, start: datetime, end: datetime) -> dict[str, Any]:
    counts = {"first_contact_resolved": 0, "repeat_contact": 0}
    for person in year.people:
        for talk in person.talks:
            if talk.resolved_at is not None and start <= talk.resolved_at < end:
                found = outcome(talk, person)
                assert found is not None
                counts[found] += 1
    decided = counts["first_contact_resolved"] + counts["repeat_contact"]
    every = {"resolved": decided, **counts, "pending": 0, "decided": decided}
    return {
        "first_contact_resolution": (rate(counts["first_contact_resolved"], decided), every),
        "repeat_contact_rate": (rate(counts["repeat_contact"], decided), every),
    }


def groups(person: Person, start: datetime, end: datetime) -> dict[str, str]:
    opened = [t for t in person.talks if start <= t.opened_at < end]
    answers = [
        (t.csat_at, t.csat)
        for t in person.talks
        if t.csat_at is not None and t.csat is not None and start <= t.csat_at < end
    ]
    resolved = {
        outcome(t, person)
        for t in person.talks
        if t.resolved_at is not None and start <= t.resolved_at < end
    }
    last_csat = sorted(answers, key=lambda a: a[0])[-1][1] if answers else None
    return {
        "service_level": "missed" if any(missed(t) for t in opened) else "met_or_no_contact",
        "csat": "no_answer"
        if last_csat is None
        else ("satisfied_4_5" if last_csat >= 4 else "dissatisfied_1_3"),
        "first_contact": "repeat_contact"
        if "repeat_contact" in resolved
        else ("first_contact_resolved" if "first_contact_resolved" in resolved else "none_decided"),
        "complaint": "complaint"
        if any(t.labels and "complaint" in t.labels[-1][1] for t in opened)
        else "no_complaint",
    }


def period(year: HalfYear, start: datetime, end: datetime) -> dict[str, Any]:
    active = [p for p in year.people if was_active(p, start)]
    churned = [p for p in active if churned_between(p, start, end)]
    during = [
        p
        for p in year.people
        if was_active(p, start)
        or any(s.kind is not CustomerEventType.CHURNED and start <= s.at < end for s in p.lifecycle)
    ]
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for person in year.people:
        for currency, amount in revenue(person, start, end).items():
            sums[currency] += amount
    split: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for person in active:
        for by, group in groups(person, start, end).items():
            split[(by, group)][0] += 1
            split[(by, group)][1] += int(person in churned)
    return {
        "active_at_start": len(active),
        "churned": len(churned),
        "retention": rate(len(active) - len(churned), len(active)),
        "churn_rate": rate(len(churned), len(active)),
        "revenue": {
            currency: (sums[currency], len(during), four_places(sums[currency] / len(during)))
            for currency in sums
        },
        "split": {key: tuple(value) for key, value in split.items()},
        **fcr(year, start, end),
    }


def cohorts(year: HalfYear, start: datetime, end: datetime) -> dict[tuple[str, str], Any]:
    members: dict[str, list[Person]] = defaultdict(list)
    for person in year.people:
        first = first_active(person)
        if first is not None and start <= first < end:
            members[f"{first:%Y-%m}"].append(person)
    found = {}
    for cohort, people in members.items():
        totals = [revenue(p, None, end) for p in people]
        for currency in {c for t in totals for c in t}:
            amounts = [t.get(currency, Decimal(0)) for t in totals]
            found[(cohort, currency)] = (
                len(people),
                sum(amounts, Decimal(0)),
                four_places(sum(amounts, Decimal(0)) / len(people)),
                four_places(statistics.median(amounts)),
            )
    return found
