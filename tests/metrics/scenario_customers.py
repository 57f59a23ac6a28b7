"""A scripted half year of customers: CRM lifecycle events, contacts merged and split, and
conversations across channels with their service, resolves, CSAT answers and labels.

The script holds the truth (which customer each contact and conversation belongs to, when
things happened); ``customer_events`` turns it into what routing and the connectors
publish. ``by_hand_outcomes`` computes the figures from the script alone.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.events import (
    Channel,
    Customer,
    CustomerEvent,
    CustomerEventType,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    RoutingEvent,
    SurveyAnswer,
)

#: The report's range: seven calendar months.
RANGE_START = datetime(1995, 1, 1, tzinfo=UTC)
RANGE_END = datetime(1995, 8, 1, tzinfo=UTC)
CHANNELS = ("phone", "chat", "social", "email")
#: Waits that meet and miss each channel's default service level (T: 20 s, 60 s, 1 h, 4 h).
WAITS_S = {
    "phone": (2, 19, 20, 21, 45),
    "chat": (10, 60, 61, 300),
    "social": (60, 3599, 3600, 3601, 9000),
    "email": (600, 14400, 14401, 30000),
}


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _at(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A random instant in [start, end), whole milliseconds."""
    span_ms = int((end - start).total_seconds() * 1000)
    return start + timedelta(milliseconds=rng.randrange(span_ms))


@dataclass
class Lifecycle:
    """One CRM event about a customer, published under one of their contacts."""

    kind: CustomerEventType
    at: datetime
    contact: uuid.UUID
    amount: Decimal | None = None
    currency: str | None = None
    reason: str | None = None


@dataclass
class Talk:
    """One conversation of a customer."""

    key: str
    conversation_id: uuid.UUID
    channel: str
    opened_at: datetime
    contact: uuid.UUID
    #: Answered after this many seconds, or abandoned after ``abandon_s``.
    wait_s: int | None
    abandon_s: int | None = None
    resolved_at: datetime | None = None
    csat: int | None = None
    csat_at: datetime | None = None
    #: Label sets in the order they were set; the last is the conversation's.
    labels: list[tuple[datetime, list[str]]] = field(default_factory=list)
    #: A split: the conversation first ran under this other contact, until ``moved_at``.
    first_contact: uuid.UUID | None = None
    moved_at: datetime | None = None


@dataclass
class Person:
    """A customer: their contacts (the first survives, the others were merged into it)."""

    contacts: list[uuid.UUID]
    lifecycle: list[Lifecycle] = field(default_factory=list)
    talks: list[Talk] = field(default_factory=list)
    #: (absorbed, surviving, at): how the contacts were merged.
    merges: list[tuple[uuid.UUID, uuid.UUID, datetime]] = field(default_factory=list)

    @property
    def root(self) -> uuid.UUID:
        return self.contacts[0]


@dataclass
class HalfYear:
    people: list[Person]


def _lifecycle(rng: random.Random, person: Person) -> None:
    def contact() -> uuid.UUID:
        return rng.choice(person.contacts)

    # Some were customers before the range; two start exactly at a month's start.
    if rng.random() < 0.2:
        start = _at(rng, datetime(1994, 9, 1, tzinfo=UTC), RANGE_START)
    elif rng.random() < 0.02:
        start = datetime(1995, rng.randrange(2, 8), 1, tzinfo=UTC)
    else:
        start = _at(rng, RANGE_START, datetime(1995, 7, 25, tzinfo=UTC))
    person.lifecycle.append(Lifecycle(CustomerEventType.ACTIVATED, start, contact()))
    cursor = start
    horizon = datetime(1995, 8, 20, tzinfo=UTC)
    while True:
        step = timedelta(days=rng.uniform(2, 70))
        cursor += step
        if cursor >= horizon:
            break
        roll = rng.random()
        if roll < 0.55:
            currency = "EUR" if rng.random() < 0.75 else "USD"
            amount = Decimal(rng.randrange(100, 50000)) / 100
            person.lifecycle.append(
                Lifecycle(CustomerEventType.ORDER_PLACED, cursor, contact(), amount, currency)
            )
        elif roll < 0.75:
            # Some churns fall exactly on a month's start: they count in that month.
            at = cursor
            if rng.random() < 0.1:
                at = datetime(cursor.year, cursor.month, 1, tzinfo=UTC)
                if at <= start:
                    at = cursor
            person.lifecycle.append(
                Lifecycle(CustomerEventType.CHURNED, at, contact(), reason="price")
            )
            cursor = at
            if rng.random() < 0.6:
                break
            # Back again after a while: a reactivation.
            cursor += timedelta(days=rng.uniform(3, 40))
            person.lifecycle.append(Lifecycle(CustomerEventType.ACTIVATED, cursor, contact()))


def _talks(rng: random.Random, person: Person, people: list[Person], n: int) -> None:
    opened = _at(rng, datetime(1994, 12, 1, tzinfo=UTC), datetime(1995, 8, 10, tzinfo=UTC))
    for _ in range(rng.choice((0, 1, 1, 2, 3, 4, 5))):
        channel = rng.choice(CHANNELS)
        key = f"outcomes-{n}-{len(person.talks)}-{channel}"
        talk = Talk(
            key=key,
            conversation_id=uuid.uuid5(uuid.NAMESPACE_URL, key),
            channel=channel,
            opened_at=opened,
            contact=rng.choice(person.contacts),
            wait_s=rng.choice(WAITS_S[channel]),
        )
        if rng.random() < 0.12:
            talk.abandon_s, talk.wait_s = rng.choice((2, 4, 5, 30)), None
        elif rng.random() < 0.85:
            talk.resolved_at = opened + timedelta(
                seconds=talk.wait_s or 0, minutes=rng.randrange(5, 3000)
            )
            if rng.random() < 0.45:
                talk.csat = rng.randrange(1, 6)
                talk.csat_at = talk.resolved_at + timedelta(minutes=rng.randrange(1, 600))
        if rng.random() < 0.2:
            at = opened + timedelta(minutes=rng.randrange(1, 300))
            talk.labels.append((at, rng.choice((["complaint"], ["billing", "complaint"]))))
            if rng.random() < 0.3:
                talk.labels.append((at + timedelta(minutes=5), ["billing"]))
        elif rng.random() < 0.1:
            talk.labels.append((opened + timedelta(minutes=3), ["question"]))
        if rng.random() < 0.08 and len(people) > 1:
            # Opened under someone else's contact, then split off to this customer's.
            other = rng.choice(people)
            if other is not person:
                talk.first_contact = other.root
                talk.moved_at = opened + timedelta(seconds=rng.randrange(1, 120))
        person.talks.append(talk)
        # The next one: often soon after this one's resolve (a repeat), often much later.
        after = talk.resolved_at or opened
        opened = after + timedelta(hours=rng.choice((0.5, 20, 100, 167.9, 168.1, 400, 1200)))


def script_half_year(seed: int, customers: int = 300) -> HalfYear:
    rng = random.Random(seed)
    people: list[Person] = []
    for n in range(customers):
        person = Person(contacts=[_uuid(rng)])
        roll = rng.random()
        if roll < 0.3:
            absorbed = _uuid(rng)
            person.contacts.append(absorbed)
            person.merges.append((absorbed, person.root, _at(rng, RANGE_START, RANGE_END)))
        elif roll < 0.35:
            # A chain: c -> b, then b -> the survivor.
            b, c = _uuid(rng), _uuid(rng)
            person.contacts += [b, c]
            person.merges.append((c, b, _at(rng, RANGE_START, RANGE_END)))
            person.merges.append((b, person.root, _at(rng, RANGE_START, RANGE_END)))
        _lifecycle(rng, person)
        _talks(rng, person, people, n)
        people.append(person)
    return HalfYear(people)


# -- events ---------------------------------------------------------------


def _step(
    talk: Talk, step: LifecycleStep, at: datetime, contact: uuid.UUID, **fields: Any
) -> RoutingEvent:
    return RoutingEvent(
        event_id=uuid.uuid5(talk.conversation_id, f"{step.value}-{at.isoformat()}"),
        type=step,
        occurred_at=at,
        conversation_id=talk.conversation_id,
        conversation_key=talk.key,
        contact_id=contact,
        channel=Channel(talk.channel),
        queue=f"outcomes-{talk.channel}",
        **fields,
    )


def talk_events(talk: Talk) -> list[Any]:
    def contact_at(at: datetime) -> uuid.UUID:
        if talk.first_contact is not None and talk.moved_at is not None and at < talk.moved_at:
            return talk.first_contact
        return talk.contact

    o = talk.opened_at
    events: list[Any] = [
        _step(talk, LifecycleStep.OPENED, o, contact_at(o)),
        _step(talk, LifecycleStep.QUEUED, o, contact_at(o)),
    ]
    if talk.moved_at is not None:
        events.append(_step(talk, LifecycleStep.CONTACT_CHANGED, talk.moved_at, talk.contact))
    if talk.wait_s is not None:
        at = o + timedelta(seconds=talk.wait_s)
        events.append(_step(talk, LifecycleStep.ACCEPTED, at, contact_at(at), agent_id="agent-o"))
    if talk.abandon_s is not None:
        at = o + timedelta(seconds=talk.abandon_s)
        events.append(_step(talk, LifecycleStep.ABANDONED, at, contact_at(at)))
    if talk.resolved_at is not None:
        events.append(
            _step(talk, LifecycleStep.RESOLVED, talk.resolved_at, contact_at(talk.resolved_at))
        )
    for at, labels in talk.labels:
        events.append(_step(talk, LifecycleStep.LABELED, at, contact_at(at), labels=labels))
    if talk.csat is not None and talk.csat_at is not None:
        events.append(
            InteractionEvent(
                event_id=uuid.uuid5(talk.conversation_id, "csat"),
                type=EventType.SURVEY_RESPONSE,
                channel=Channel(talk.channel),
                provider="outcomes",
                direction=Direction.INBOUND,
                occurred_at=talk.csat_at,
                received_at=talk.csat_at,
                customer=Customer(id=f"customer-{talk.key}"),
                conversation_key=talk.key,
                survey=SurveyAnswer(kind="csat", score=talk.csat),
            )
        )
    return events


def lifecycle_event(step: Lifecycle, n: int) -> CustomerEvent:
    return CustomerEvent(
        event_id=uuid.uuid5(step.contact, f"{step.kind.value}-{n}"),
        type=step.kind,
        occurred_at=step.at,
        contact_id=step.contact,
        source="golden-crm",
        order_id=f"order-{n}" if step.kind is CustomerEventType.ORDER_PLACED else None,
        amount=step.amount,
        currency=step.currency,
        reason=step.reason,
    )


def merge_event(absorbed: uuid.UUID, surviving: uuid.UUID, at: datetime) -> RoutingEvent:
    return RoutingEvent(
        event_id=uuid.uuid5(absorbed, "merged"),
        type=LifecycleStep.CONTACT_MERGED,
        occurred_at=at,
        contact_id=surviving,
        merged_contact_id=absorbed,
    )


def all_events(year: HalfYear) -> list[Any]:
    events: list[Any] = []
    for person in year.people:
        for n, step in enumerate(person.lifecycle):
            events.append(lifecycle_event(step, n))
        for talk in person.talks:
            events += talk_events(talk)
        events += [merge_event(*merge) for merge in person.merges]
    return events


def publish_order(year: HalfYear, seed: int) -> tuple[list[Any], list[Any]]:
    """Every event once, shuffled, and a tenth of them again."""
    rng = random.Random(seed)
    events = all_events(year)
    rng.shuffle(events)
    return events, rng.sample(events, len(events) // 10)
