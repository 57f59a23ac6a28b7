"""Customer events join their contact and leave through the outbox.

An event names its customer by email, phone or the source's own customer id
(``external_id``). Email and phone join the contact holding that *verified* identity
(namespaces ``email`` and ``phone``, which only verified identities enter): an address a
customer typed into a chat widget stays in its provider's namespace and is never joined.
With no such contact, one is made holding the identity, marked verified: the CRM or
billing system vouches for its customers' addresses as a DKIM-signed email does.
``external_id`` lives in the namespace ``crm:<source>``; it is linked to the contact that
the first event carrying it with an email or phone resolved to, and from then on finds
that contact by itself. An identity some other contact holds is never moved: a conflict
is for an admin to merge.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.routing.customers.schemas import CsvRow, CustomerEventIn, CustomerEventOut
from services.routing.domain import CRM_NAMESPACE_PREFIX
from services.routing.repository.customers import KnownIdentity, SeenCustomerEvent
from services.routing.unit_of_work import UnitOfWork
from shared.errors import Conflict, UnprocessableEntity
from shared.events import CustomerEvent, customer_event_id

#: The identity's channel column for identities a CRM vouches for.
CRM_CHANNEL = "crm"
#: Events planned and written together: a few queries for all of them, not a few each.
CHUNK = 500
#: Times a chunk is planned again after another transaction took one of its identities or
#: event ids between our reading and our writing.
ATTEMPTS = 3

Key = tuple[str, str]


class Refused(Exception):
    """An event that cannot be taken, and why (a client's problem, never personal data)."""

    def __init__(self, reason: str, *, conflict: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.conflict = conflict


def external_namespace(source: str) -> str:
    """The identity namespace of a source's own customer ids."""
    return f"{CRM_NAMESPACE_PREFIX}{source}"


async def take_webhook(
    uow: UnitOfWork, *, events: Sequence[CustomerEventIn], at: datetime
) -> list[CustomerEventOut]:
    """Take a webhook's events, all or none: one refused refuses the request."""
    taken = []
    for index, (event, outcome) in enumerate(
        zip(events, await take_events(uow, events=events, at=at), strict=True)
    ):
        if isinstance(outcome, Refused):
            detail = {"index": index, "id": event.id}
            if outcome.conflict:
                raise Conflict(outcome.reason, detail=detail)
            raise UnprocessableEntity(outcome.reason, detail=detail)
        taken.append(outcome)
    return taken


async def take_rows(
    uow: UnitOfWork, *, rows: Sequence[CsvRow], at: datetime
) -> list[CustomerEventOut]:
    """Take an import's rows: each published, a duplicate, or refused with its reason."""
    parsed = [row for row in rows if row.event is not None]
    outcomes: dict[int, CustomerEventOut | Refused] = {}
    for start in range(0, len(parsed), CHUNK):
        chunk = parsed[start : start + CHUNK]
        events = [row.event for row in chunk if row.event is not None]
        for row, outcome in zip(chunk, await take_events(uow, events=events, at=at), strict=True):
            outcomes[row.line] = outcome
    report = []
    for row in rows:
        found = outcomes.get(row.line)
        if found is None or isinstance(found, Refused):
            reason = found.reason if isinstance(found, Refused) else row.problem
            report.append(
                CustomerEventOut(id=row.id, status="refused", reason=reason, line=row.line)
            )
        else:
            report.append(found.model_copy(update={"line": row.line}))
    return report


async def take_events(
    uow: UnitOfWork, *, events: Sequence[CustomerEventIn], at: datetime
) -> list[CustomerEventOut | Refused]:
    """Join each event to its contact and publish it, unless its source sent it before: what
    became of each, in order; a refused one changes nothing.

    The events are planned against what routing holds (one read of the events seen and one
    of the identities named), then written together. A concurrent request that took one of
    the same identities or event ids in between makes the write fall short: it is undone
    (a savepoint) and planned again, now seeing the other's rows.
    """
    for _ in range(ATTEMPTS):
        savepoint = await uow.session.begin_nested()
        plan = await _plan(uow, events, at)
        if await _written(uow, plan):
            await savepoint.commit()
            for event in plan.published:
                uow.steps.customer(event)
            return plan.outcomes
        await savepoint.rollback()
    raise Conflict("other requests kept taking the same customers: send the events again")


@dataclass
class _Plan:
    outcomes: list[CustomerEventOut | Refused] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    identities: list[dict[str, Any]] = field(default_factory=list)
    claims: list[dict[str, Any]] = field(default_factory=list)
    published: list[CustomerEvent] = field(default_factory=list)


def _keys(event: CustomerEventIn) -> list[Key]:
    """The event's identities, in the order they choose the contact."""
    keys = []
    if event.external_id:
        keys.append((external_namespace(event.source), event.external_id))
    if event.email:
        keys.append(("email", event.email))
    if event.phone:
        keys.append(("phone", event.phone))
    return keys


async def _plan(uow: UnitOfWork, events: Sequence[CustomerEventIn], at: datetime) -> _Plan:
    seen = await uow.customers.seen_many({(e.source, e.id) for e in events})
    known = await uow.customers.known_identities(sorted({k for e in events for k in _keys(e)}))
    plan = _Plan()
    for event in events:
        earlier = seen.get((event.source, event.id))
        try:
            if earlier is not None:
                plan.outcomes.append(_duplicate(event, earlier))
                continue
            contact_id = _contact_of(event, known, plan, at)
        except Refused as refused:
            plan.outcomes.append(refused)
            continue
        event_id = customer_event_id(event.source, event.id, event.type)
        seen[(event.source, event.id)] = SeenCustomerEvent(
            event_id=event_id, type=event.type.value, contact_id=contact_id
        )
        plan.claims.append(
            {
                "source": event.source,
                "source_event_id": event.id,
                "event_id": event_id,
                "type": event.type.value,
                "contact_id": contact_id,
                "received_at": at,
            }
        )
        plan.published.append(
            CustomerEvent(
                event_id=event_id,
                type=event.type,
                occurred_at=event.occurred_at,
                contact_id=contact_id,
                source=event.source,
                external_id=event.external_id,
                order_id=event.order_id,
                amount=event.amount,
                currency=event.currency,
                reason=event.reason,
            )
        )
        plan.outcomes.append(
            CustomerEventOut(
                id=event.id, status="accepted", event_id=event_id, contact_id=contact_id
            )
        )
    return plan


def _duplicate(event: CustomerEventIn, earlier: SeenCustomerEvent) -> CustomerEventOut:
    if earlier.type != event.type.value:
        raise Refused(
            f"the id {event.id!r} of source {event.source!r} was already taken for a "
            f"{earlier.type} event",
            conflict=True,
        )
    return CustomerEventOut(
        id=event.id, status="duplicate", event_id=earlier.event_id, contact_id=earlier.contact_id
    )


def _contact_of(
    event: CustomerEventIn, known: dict[Key, KnownIdentity], plan: _Plan, at: datetime
) -> uuid.UUID:
    """The contact the event's verified identities name, planned to be made when none does;
    the event's identities no one holds yet are planned to be given to it (and ``known``
    learns them, for the events after it)."""
    keys = _keys(event)
    joined = [known[k].contact_id for k in keys if k in known and known[k].verified]
    if joined:
        contact_id = joined[0]
    else:
        if not any(k[0] in ("email", "phone") and k not in known for k in keys):
            raise Refused(
                "the customer's external_id is not known yet: send it once with the "
                "customer's email or phone"
                if event.email is None and event.phone is None
                else "the customer's email or phone is held by an unverified identity"
            )
        contact_id = uuid.uuid4()
        plan.contacts.append({"id": contact_id, "display_name": None, "created_at": at})
    for namespace, value in keys:
        if (namespace, value) in known:
            continue
        known[(namespace, value)] = KnownIdentity(contact_id=contact_id, verified=True)
        plan.identities.append(
            {
                "id": uuid.uuid4(),
                "contact_id": contact_id,
                "namespace": namespace,
                "value": value,
                "verified": True,
                "channel": CRM_CHANNEL,
                "created_at": at,
            }
        )
    return contact_id


async def _written(uow: UnitOfWork, plan: _Plan) -> bool:
    """Write the plan; False when another transaction took one of its identities or event
    ids first (the caller undoes the rest)."""
    await uow.customers.add_contacts(plan.contacts)
    if await uow.customers.add_identities(plan.identities) < len(plan.identities):
        return False
    return await uow.customers.claim_many(plan.claims) == len(plan.claims)


async def replayed(uow: UnitOfWork, *, events: Sequence[CustomerEventIn]) -> list[CustomerEventOut]:
    """What a webhook handled before made of its events, for the answer to its replay."""
    seen = await uow.customers.seen_many({(e.source, e.id) for e in events})
    outcomes = []
    for event in events:
        earlier = seen.get((event.source, event.id))
        outcomes.append(
            CustomerEventOut(
                id=event.id,
                status="duplicate",
                event_id=earlier.event_id
                if earlier
                else customer_event_id(event.source, event.id, event.type),
                contact_id=earlier.contact_id if earlier else None,
            )
        )
    return outcomes
