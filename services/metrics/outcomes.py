"""Customer outcomes from the facts: first-contact resolution, retention, churn, revenue and
lifetime value, and churn split by the service customers had (docs/metrics.md, "Customer
outcomes").

Pure arithmetic over what the repository read: contacts are resolved through the merges
known at read time, so a merge, a repeat contact or a churn that arrives late moves the
figures the next time they are read.
"""

from __future__ import annotations

import bisect
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from services.metrics.contributions import Thresholds, abandon_wait_ms, answer_wait_ms
from services.metrics.repository.customers import ContactConversation, CustomerStep

PERIODS = ("month", "week", "day")
#: The lifecycle events that make (or keep) a customer active.
ACTIVATING = ("customer.activated", "customer.order_placed")
CHURNED = "customer.churned"
ORDER = "customer.order_placed"
#: Means and medians of money are given to this many places (amounts are kept exact).
MONEY_PLACES = Decimal("0.0001")


def money(value: Decimal) -> Decimal:
    return value.quantize(MONEY_PLACES, rounding=ROUND_HALF_EVEN)


def period_start(at: datetime, period: str) -> datetime:
    """The UTC start of the calendar month, ISO week (Monday) or day ``at`` falls in."""
    day = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return day.replace(day=1)
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day


def next_period(start: datetime, period: str) -> datetime:
    if period == "month":
        return (
            start.replace(year=start.year + 1, month=1)
            if start.month == 12
            else start.replace(month=start.month + 1)
        )
    return start + timedelta(days=7 if period == "week" else 1)


def periods_between(start: datetime, end: datetime, period: str) -> list[tuple[datetime, datetime]]:
    """The whole periods whose start lies in ``[start, end)``."""
    first = period_start(start, period)
    if first < start:
        first = next_period(first, period)
    found = []
    while first < end:
        following = next_period(first, period)
        found.append((first, following))
        first = following
    return found


class Contacts:
    """Who each contact is now: absorbed contacts resolve to the contact they were merged into."""

    def __init__(self, merges: Mapping[uuid.UUID, uuid.UUID]) -> None:
        self._into = merges
        self._roots: dict[uuid.UUID, uuid.UUID] = {}

    def root(self, contact: uuid.UUID) -> uuid.UUID:
        if contact in self._roots:
            return self._roots[contact]
        path = [contact]
        current = contact
        while current in self._into:
            current = self._into[current]
            if current in path:
                # A cycle (two merges crossing): the smallest of its contacts stands for all.
                current = min(path[path.index(current) :])
                break
            path.append(current)
        for seen in path:
            self._roots[seen] = current
        return current

    def members(self, contacts: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[uuid.UUID]]:
        """Each root and the absorbed contacts among ``contacts`` that resolve to it."""
        found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        for contact in set(contacts) | set(self._into):
            root = self.root(contact)
            if root != contact:
                found[root].append(contact)
        return {root: sorted(absorbed) for root, absorbed in found.items()}


def _between(times: Sequence[datetime], start: datetime, end: datetime) -> range:
    """The indexes of the sorted ``times`` in ``[start, end)``."""
    return range(bisect.bisect_left(times, start), bisect.bisect_left(times, end))


@dataclass
class Customer:
    """One customer's lifecycle (merged contacts' events together), in time order.

    ``settle`` sorts the steps and indexes them by kind, so every question about a range is
    a binary search: reports ask them for each customer in each period.
    """

    contact_id: uuid.UUID
    #: (at, rank, type, amount, currency, reason): a churn sorts after an activation at its instant.
    steps: list[tuple[datetime, int, str, Decimal | None, str | None, str | None]] = field(
        default_factory=list
    )
    times: list[datetime] = field(default_factory=list, repr=False)
    activations: list[datetime] = field(default_factory=list, repr=False)
    churns: list[datetime] = field(default_factory=list, repr=False)
    #: (at, currency, amount) of the orders, in time order.
    order_lines: list[tuple[datetime, str, Decimal]] = field(default_factory=list, repr=False)
    order_times: list[datetime] = field(default_factory=list, repr=False)

    def add(self, step: CustomerStep) -> None:
        rank = 1 if step.type == CHURNED else 0
        self.steps.append(
            (step.occurred_at, rank, step.type, step.amount, step.currency, step.reason)
        )

    def settle(self) -> None:
        self.steps.sort(key=lambda s: (s[0], s[1], s[2]))
        self.times = [s[0] for s in self.steps]
        self.activations = [s[0] for s in self.steps if s[2] in ACTIVATING]
        self.churns = [s[0] for s in self.steps if s[2] == CHURNED]
        self.order_lines = [
            (s[0], s[4], s[3])
            for s in self.steps
            if s[2] == ORDER and s[3] is not None and s[4] is not None
        ]
        self.order_times = [line[0] for line in self.order_lines]

    def active_at(self, at: datetime) -> bool:
        """Whether the latest lifecycle event before ``at`` was an activation or an order."""
        index = bisect.bisect_left(self.times, at)
        return index > 0 and self.steps[index - 1][2] in ACTIVATING

    def churned_in(self, start: datetime, end: datetime) -> bool:
        return len(_between(self.churns, start, end)) > 0

    def active_during(self, start: datetime, end: datetime) -> bool:
        return self.active_at(start) or len(_between(self.activations, start, end)) > 0

    @property
    def first_active_at(self) -> datetime | None:
        return self.activations[0] if self.activations else None

    @property
    def last_churn(self) -> tuple[datetime, str | None] | None:
        churns = [(s[0], s[5]) for s in self.steps if s[2] == CHURNED]
        return churns[-1] if churns else None

    def revenue(self, start: datetime | None, end: datetime) -> dict[str, Decimal]:
        """Order amounts per currency in ``[start, end)`` (from the beginning without start)."""
        sums: dict[str, Decimal] = defaultdict(Decimal)
        first = 0 if start is None else bisect.bisect_left(self.order_times, start)
        for index in range(first, bisect.bisect_left(self.order_times, end)):
            _, currency, amount = self.order_lines[index]
            sums[currency] += amount
        return dict(sums)

    def orders(self, start: datetime, end: datetime) -> int:
        return len(_between(self.order_times, start, end))


def customers_of(steps: Sequence[CustomerStep], contacts: Contacts) -> dict[uuid.UUID, Customer]:
    found: dict[uuid.UUID, Customer] = {}
    for step in steps:
        root = contacts.root(step.contact_id)
        customer = found.get(root)
        if customer is None:
            customer = found[root] = Customer(root)
        customer.add(step)
    for customer in found.values():
        customer.settle()
    return found


@dataclass(frozen=True)
class Contacted:
    """What one conversation tells about its customer's service."""

    key: str
    contact_id: uuid.UUID
    opened_at: datetime | None
    resolved_at: datetime | None
    missed_service_level: bool
    csat_score: int | None
    csat_at: datetime | None
    complaint: bool


def missed_service_level(conversation: ContactConversation, thresholds: Thresholds) -> bool:
    """Answered later than its channel's T, or abandoned after the short-abandon limit: a
    contact in the service level's denominator and not in its numerator."""
    fact = conversation.fact
    wait = answer_wait_ms(fact)
    if wait is not None:
        threshold = thresholds.service_level_for(fact.channel or "")
        return threshold is None or wait > threshold
    abandoned = abandon_wait_ms(fact)
    return abandoned is not None and abandoned >= thresholds.short_abandon_ms


def contacted(
    conversations: Sequence[ContactConversation], contacts: Contacts, thresholds: Thresholds
) -> dict[uuid.UUID, list[Contacted]]:
    """Each customer's conversations, in order of opening."""
    found: dict[uuid.UUID, list[Contacted]] = defaultdict(list)
    for conversation in conversations:
        fact = conversation.fact
        root = contacts.root(conversation.contact_id)
        found[root].append(
            Contacted(
                key=fact.conversation_key,
                contact_id=root,
                opened_at=fact.opened_at or fact.first_inbound_at,
                resolved_at=fact.first_resolved_at,
                missed_service_level=missed_service_level(conversation, thresholds),
                csat_score=fact.csat_score,
                csat_at=fact.csat_at,
                complaint=conversation.complaint,
            )
        )
    for items in found.values():
        items.sort(key=lambda c: (c.opened_at or datetime.min.replace(tzinfo=UTC), c.key))
    return dict(found)


#: A resolved conversation's first-contact outcome.
FCR, REPEAT, PENDING = "first_contact_resolved", "repeat_contact", "pending"


def fcr_outcome(
    conversation: Contacted, others: Sequence[Contacted], *, window: timedelta, now: datetime
) -> str | None:
    """``repeat_contact`` when the customer opened another conversation after the resolve and
    before the window closed, ``first_contact_resolved`` once the window closed without one,
    ``pending`` until then; None for a conversation not resolved."""
    resolved = conversation.resolved_at
    if resolved is None:
        return None
    closes = resolved + window
    for other in others:
        if other.key == conversation.key or other.opened_at is None:
            continue
        if resolved < other.opened_at < closes:
            return REPEAT
    return FCR if now >= closes else PENDING


def fcr_outcomes(
    by_customer: Mapping[uuid.UUID, Sequence[Contacted]], *, window: timedelta, now: datetime
) -> dict[str, str]:
    """Every resolved conversation's first-contact outcome, by conversation key."""
    found = {}
    for items in by_customer.values():
        for item in items:
            outcome = fcr_outcome(item, items, window=window, now=now)
            if outcome is not None:
                found[item.key] = outcome
    return found


@dataclass(frozen=True)
class FcrCounts:
    resolved: int
    first_contact_resolved: int
    repeat_contact: int
    pending: int


def resolved_in_order(
    by_customer: Mapping[uuid.UUID, Sequence[Contacted]], outcomes: Mapping[str, str]
) -> list[tuple[datetime, str]]:
    """``(first resolve, first-contact outcome)`` of every resolved conversation, in time order."""
    return sorted(
        (item.resolved_at, outcomes[item.key])
        for items in by_customer.values()
        for item in items
        if item.resolved_at is not None
    )


def fcr_counts(
    resolved: Sequence[tuple[datetime, str]],
    times: Sequence[datetime],
    start: datetime,
    end: datetime,
) -> FcrCounts:
    """The conversations first resolved in ``[start, end)`` by first-contact outcome
    (``resolved`` as ``resolved_in_order`` gives it, ``times`` its times)."""
    counts: dict[str, int] = defaultdict(int)
    for index in _between(times, start, end):
        counts[resolved[index][1]] += 1
    return FcrCounts(
        resolved=sum(counts.values()),
        first_contact_resolved=counts[FCR],
        repeat_contact=counts[REPEAT],
        pending=counts[PENDING],
    )


#: The service splits: name -> the groups a customer falls in, in the order they are shown.
SPLITS = {
    "service_level": ("missed", "met_or_no_contact"),
    "csat": ("satisfied_4_5", "dissatisfied_1_3", "no_answer"),
    "first_contact": ("repeat_contact", "first_contact_resolved", "none_decided"),
    "complaint": ("complaint", "no_complaint"),
}


def service_groups(
    items: Sequence[Contacted], outcomes: Mapping[str, str], start: datetime, end: datetime
) -> dict[str, str]:
    """Which group of each split a customer's service in ``[start, end)`` puts them in."""
    opened = [c for c in items if c.opened_at is not None and start <= c.opened_at < end]
    answers = [
        (c.csat_at, c.csat_score, c.key)
        for c in items
        if c.csat_at is not None and c.csat_score is not None and start <= c.csat_at < end
    ]
    resolved = {
        outcomes[c.key] for c in items if c.resolved_at is not None and start <= c.resolved_at < end
    }
    if answers:
        last = max(answers)[1]
        csat = "satisfied_4_5" if last >= 4 else "dissatisfied_1_3"
    else:
        csat = "no_answer"
    if REPEAT in resolved:
        first_contact = "repeat_contact"
    elif FCR in resolved:
        first_contact = "first_contact_resolved"
    else:
        first_contact = "none_decided"
    return {
        "service_level": "missed"
        if any(c.missed_service_level for c in opened)
        else "met_or_no_contact",
        "csat": csat,
        "first_contact": first_contact,
        "complaint": "complaint" if any(c.complaint for c in opened) else "no_complaint",
    }


@dataclass
class Cohort:
    customers: int = 0
    revenue: dict[str, list[Decimal]] = field(default_factory=dict)


def median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
