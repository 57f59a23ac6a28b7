"""Customer outcome reports and the customer export, read from the facts at read time."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from services.metrics import outcomes
from services.metrics.contributions import Thresholds
from services.metrics.kpis import percent
from services.metrics.outcomes import (
    FCR,
    PENDING,
    REPEAT,
    SPLITS,
    Contacted,
    Contacts,
    Customer,
    money,
)
from services.metrics.repository import customers as repository
from services.metrics.schemas import (
    CohortValue,
    Kpi,
    OutcomeGroup,
    OutcomePeriod,
    OutcomeReport,
    OutcomeSplit,
    RevenueLine,
)
from shared.db import Database
from shared.errors import BadRequest

#: Periods a single report may return.
MAX_PERIODS = 400
#: Reports end before this: a period and a repeat window past the end must stay in the calendar.
LATEST_END = datetime(9000, 1, 1, tzinfo=UTC)

FORMULAS = {
    "first_contact_resolution": "resolved conversations after which their customer (contacts "
    "merged, any channel) opened no other conversation within the repeat window / resolved "
    "conversations whose window closed or that had a repeat; by the first resolve's time",
    "repeat_contact_rate": "resolved conversations followed by another conversation of the "
    "same customer opened after the resolve and before the window closed / the same decided "
    "resolved conversations",
    "retention": "(customers active at the period's start - those of them churned in the "
    "period) / customers active at the period's start",
    "churn_rate": "customers active at the period's start who churned in the period / "
    "customers active at the period's start",
    "revenue_per_customer": "order amounts in the period / customers active at some time in "
    "the period, per currency",
    "lifetime_value": "order amounts to the report's end per customer of a cohort (first "
    "activation or order in that month), mean and median, per currency",
    "service_split": "retention and churn of the customers active at the period's start, by "
    "their service in the period: a conversation that missed the service level or none; their "
    "last CSAT answer 4-5, 1-3 or none; a resolved conversation followed by a repeat contact, "
    "else one resolved first time, else none decided; a conversation labelled complaint or none",
}


def check_outcome_range(*, start: datetime, end: datetime, period: str) -> None:
    if period not in outcomes.PERIODS:
        raise BadRequest(f"period must be one of {', '.join(outcomes.PERIODS)}")
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest("start and end must carry a time zone")
    if start >= end:
        raise BadRequest("start must be before end")
    if end > LATEST_END:
        raise BadRequest(f"end must be before {LATEST_END:%Y-%m-%d}")
    days = {"month": 28, "week": 7, "day": 1}[period]
    if (end - start) / timedelta(days=days) > MAX_PERIODS:
        raise BadRequest(f"the range holds more than {MAX_PERIODS} {period} periods")


@dataclass(frozen=True)
class Known:
    """Everything the outcomes of a range are computed from."""

    contacts: Contacts
    customers: dict[uuid.UUID, Customer]
    contacted: dict[uuid.UUID, list[Contacted]]
    fcr: dict[str, str]
    #: (first resolve, first-contact outcome) of every resolved conversation, in time order.
    resolved: list[tuple[datetime, str]]
    resolved_times: list[datetime]


async def _known(
    database: Database,
    *,
    start: datetime,
    end: datetime,
    window: timedelta,
    thresholds: Thresholds,
    now: datetime,
) -> Known:
    async with database.transaction() as session:
        merges = await repository.merges(session)
        steps = await repository.customer_steps_before(session, end)
        conversations = await repository.contact_conversations(
            session, start=start, end=end, opened_until=end + window
        )
    contacts = Contacts(merges)
    contacted = outcomes.contacted(conversations, contacts, thresholds)
    fcr = outcomes.fcr_outcomes(contacted, window=window, now=now)
    resolved = outcomes.resolved_in_order(contacted, fcr)
    return Known(
        contacts=contacts,
        customers=outcomes.customers_of(steps, contacts),
        contacted=contacted,
        fcr=fcr,
        resolved=resolved,
        resolved_times=[at for at, _ in resolved],
    )


def _fcr_kpis(known: Known, start: datetime, end: datetime) -> dict[str, Kpi]:
    c = outcomes.fcr_counts(known.resolved, known.resolved_times, start, end)
    decided = c.first_contact_resolved + c.repeat_contact
    counts = {
        "resolved": c.resolved,
        "first_contact_resolved": c.first_contact_resolved,
        "repeat_contact": c.repeat_contact,
        "pending": c.pending,
        "decided": decided,
    }
    return {
        "first_contact_resolution": Kpi(
            name="first_contact_resolution",
            formula=FORMULAS["first_contact_resolution"],
            unit="percent",
            value=percent(c.first_contact_resolved, decided),
            counts=counts,
        ),
        "repeat_contact_rate": Kpi(
            name="repeat_contact_rate",
            formula=FORMULAS["repeat_contact_rate"],
            unit="percent",
            value=percent(c.repeat_contact, decided),
            counts=counts,
        ),
    }


def _retention_kpis(active: int, churned: int) -> dict[str, Kpi]:
    counts = {"active_at_start": active, "churned": churned, "retained": active - churned}
    return {
        "retention": Kpi(
            name="retention",
            formula=FORMULAS["retention"],
            unit="percent",
            value=percent(active - churned, active),
            counts=counts,
        ),
        "churn_rate": Kpi(
            name="churn_rate",
            formula=FORMULAS["churn_rate"],
            unit="percent",
            value=percent(churned, active),
            counts=counts,
        ),
    }


def _revenue(
    known: Known, at_start: set[uuid.UUID], start: datetime, end: datetime
) -> list[RevenueLine]:
    active = [
        c for root, c in known.customers.items() if root in at_start or c.active_during(start, end)
    ]
    sums: dict[str, Decimal] = defaultdict(Decimal)
    for customer in known.customers.values():
        if not customer.orders(start, end):
            continue
        for currency, amount in customer.revenue(start, end).items():
            sums[currency] += amount
    return [
        RevenueLine(
            currency=currency,
            revenue=sums[currency],
            customers=len(active),
            per_customer=money(sums[currency] / len(active)) if active else None,
        )
        for currency in sorted(sums)
    ]


def _service(
    known: Known, at_start: set[uuid.UUID], start: datetime, end: datetime
) -> list[OutcomeSplit]:
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for root in at_start:
        lost = int(known.customers[root].churned_in(start, end))
        items = known.contacted.get(root)
        placed = outcomes.service_groups(items, known.fcr, start, end) if items else NO_SERVICE
        for split, group in placed.items():
            entry = tally[(split, group)]
            entry[0] += 1
            entry[1] += lost
    splits = []
    for split, groups in SPLITS.items():
        rows = []
        for group in groups:
            active, churned = tally.get((split, group), [0, 0])
            rows.append(
                OutcomeGroup(
                    group=group,
                    active_at_start=active,
                    churned=churned,
                    retention=percent(active - churned, active),
                    churn_rate=percent(churned, active),
                )
            )
        splits.append(OutcomeSplit(by=split, groups=rows))
    return splits


#: The groups of a customer who had no conversation at all.
NO_SERVICE = outcomes.service_groups(
    [], {}, datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
)


def _period(known: Known, start: datetime, end: datetime) -> OutcomePeriod:
    at_start = {root for root, c in known.customers.items() if c.active_at(start)}
    churned = sum(1 for root in at_start if known.customers[root].churned_in(start, end))
    return OutcomePeriod(
        start=start,
        end=end,
        kpis=_retention_kpis(len(at_start), churned) | _fcr_kpis(known, start, end),
        revenue=_revenue(known, at_start, start, end),
        service=_service(known, at_start, start, end),
    )


def _cohorts(known: Known, start: datetime, end: datetime) -> list[CohortValue]:
    cohorts: dict[str, list[Customer]] = defaultdict(list)
    for customer in known.customers.values():
        first = customer.first_active_at
        if first is not None and start <= first < end:
            cohorts[f"{first.astimezone(UTC):%Y-%m}"].append(customer)
    values = []
    for cohort, members in sorted(cohorts.items()):
        revenues = [member.revenue(None, end) for member in members]
        for currency in sorted({c for revenue in revenues for c in revenue}):
            amounts = [revenue.get(currency, Decimal(0)) for revenue in revenues]
            total = sum(amounts, Decimal(0))
            values.append(
                CohortValue(
                    cohort=cohort,
                    currency=currency,
                    customers=len(members),
                    revenue=total,
                    mean=money(total / len(members)),
                    median=money(outcomes.median(amounts)),
                )
            )
    return values


async def outcome_report(
    database: Database,
    *,
    start: datetime,
    end: datetime,
    period: str,
    window: timedelta,
    thresholds: Thresholds,
    now: datetime,
) -> OutcomeReport:
    """Retention, churn, revenue, FCR and the service split per period whose start lies in
    ``[start, end)``; FCR over the whole range; lifetime value of the cohorts first active
    in the range."""
    check_outcome_range(start=start, end=end, period=period)
    periods = outcomes.periods_between(start, end, period)
    if not periods:
        raise BadRequest(f"no {period} starts in the range")
    span_end = max(end, periods[-1][1])
    known = await _known(
        database, start=start, end=span_end, window=window, thresholds=thresholds, now=now
    )
    return OutcomeReport(
        start=start,
        end=end,
        period=period,
        as_of=now,
        repeat_window_seconds=window.total_seconds(),
        formulas=FORMULAS,
        totals=_fcr_kpis(known, start, end),
        periods=[_period(known, s, e) for s, e in periods],
        lifetime_value=_cohorts(known, start, end),
    )


EXPORT_COLUMNS = (
    "contact_id",
    "merged_contact_ids",
    "first_active_at",
    "cohort",
    "active_at_start",
    "churned_in_range",
    "active_at_end",
    "last_churned_at",
    "last_churn_reason",
    "conversations_opened",
    "missed_service_level",
    "resolved",
    "first_contact_resolved",
    "repeat_contacts",
    "pending",
    "last_csat",
    "complaint",
    "orders",
    "revenue",
    "revenue_to_date",
)


def _amounts(sums: dict[str, Decimal]) -> str:
    return " ".join(f"{currency}:{sums[currency]:f}" for currency in sorted(sums))


def customer_row(
    known: Known,
    root: uuid.UUID,
    absorbed: list[uuid.UUID],
    start: datetime,
    end: datetime,
) -> dict[str, object]:
    customer = known.customers.get(root) or Customer(root)
    if root not in known.customers:
        customer.settle()
    items = known.contacted.get(root, [])
    opened = [c for c in items if c.opened_at is not None and start <= c.opened_at < end]
    resolved = [c for c in items if c.resolved_at is not None and start <= c.resolved_at < end]
    fcr = [known.fcr[c.key] for c in resolved]
    answers = [
        (c.csat_at, c.csat_score, c.key)
        for c in items
        if c.csat_at is not None and c.csat_score is not None and start <= c.csat_at < end
    ]
    first = customer.first_active_at
    churn = customer.last_churn
    return {
        "contact_id": root,
        "merged_contact_ids": " ".join(str(a) for a in absorbed),
        "first_active_at": first,
        "cohort": None if first is None else f"{first.astimezone(UTC):%Y-%m}",
        "active_at_start": customer.active_at(start),
        "churned_in_range": customer.churned_in(start, end),
        "active_at_end": customer.active_at(end),
        "last_churned_at": None if churn is None else churn[0],
        "last_churn_reason": None if churn is None else churn[1],
        "conversations_opened": len(opened),
        "missed_service_level": sum(1 for c in opened if c.missed_service_level),
        "resolved": len(resolved),
        "first_contact_resolved": fcr.count(FCR),
        "repeat_contacts": fcr.count(REPEAT),
        "pending": fcr.count(PENDING),
        "last_csat": max(answers)[1] if answers else None,
        "complaint": any(c.complaint for c in opened),
        "orders": customer.orders(start, end),
        "revenue": _amounts(customer.revenue(start, end)),
        "revenue_to_date": _amounts(customer.revenue(None, end)),
    }


def _in_range(item: Contacted, start: datetime, end: datetime) -> bool:
    return any(
        at is not None and start <= at < end
        for at in (item.opened_at, item.resolved_at, item.csat_at)
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
        # Churn reasons come from a CRM: never let a spreadsheet run them.
        return "'" + value
    return str(value)


async def export_customers(
    database: Database,
    *,
    start: datetime,
    end: datetime,
    window: timedelta,
    thresholds: Thresholds,
    now: datetime,
) -> AsyncIterator[str]:
    """CSV lines, one per customer with a lifecycle event before ``end`` or a conversation in
    ``[start, end)``: their service and outcome figures over the range."""
    known = await _known(
        database, start=start, end=end, window=window, thresholds=thresholds, now=now
    )
    in_range = {
        root
        for root, items in known.contacted.items()
        if any(_in_range(c, start, end) for c in items)
    }
    roots = sorted(set(known.customers) | in_range, key=str)
    members = known.contacts.members(roots)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    for root in roots:
        row = customer_row(known, root, members.get(root, []), start, end)
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_cell(row[column]) for column in EXPORT_COLUMNS])
        yield buffer.getvalue()
