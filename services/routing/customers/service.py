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
from datetime import datetime

from services.routing.customers.schemas import CsvRow, CustomerEventIn, CustomerEventOut
from services.routing.domain import SeenIdentity
from services.routing.unit_of_work import UnitOfWork
from shared.errors import Conflict, UnprocessableEntity
from shared.events import CustomerEvent, customer_event_id

#: The identity's channel column for identities a CRM vouches for.
CRM_CHANNEL = "crm"


class Refused(Exception):
    """An event that cannot be taken, and why (a client's problem, never personal data)."""

    def __init__(self, reason: str, *, conflict: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.conflict = conflict


def external_namespace(source: str) -> str:
    """The identity namespace of a source's own customer ids."""
    return f"crm:{source}"


async def take_webhook(
    uow: UnitOfWork, *, events: Sequence[CustomerEventIn], at: datetime
) -> list[CustomerEventOut]:
    """Take a webhook's events, all or none: one refused refuses the request."""
    taken = []
    for index, event in enumerate(events):
        try:
            taken.append(await take_event(uow, event=event, at=at))
        except Refused as refused:
            detail = {"index": index, "id": event.id}
            if refused.conflict:
                raise Conflict(refused.reason, detail=detail) from None
            raise UnprocessableEntity(refused.reason, detail=detail) from None
    return taken


async def take_event(uow: UnitOfWork, *, event: CustomerEventIn, at: datetime) -> CustomerEventOut:
    """Join one event to its contact and publish it, unless the source sent it before.

    Raises :class:`Refused` before writing anything when the event cannot be taken.
    """
    seen = await uow.customers.seen(source=event.source, source_event_id=event.id)
    if seen is not None:
        return _duplicate(event, seen.type, seen.event_id, seen.contact_id)
    contact_id = await _contact_of(uow, event=event, at=at)
    event_id = customer_event_id(event.source, event.id, event.type)
    earlier = await uow.customers.claim(
        source=event.source,
        source_event_id=event.id,
        event_id=event_id,
        type=event.type.value,
        contact_id=contact_id,
        at=at,
    )
    if earlier is not None:
        # Another request took the same event a moment ago.
        return _duplicate(event, earlier.type, earlier.event_id, earlier.contact_id)
    uow.steps.customer(
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
    return CustomerEventOut(
        id=event.id, status="accepted", event_id=event_id, contact_id=contact_id
    )


def _duplicate(
    event: CustomerEventIn, type: str, event_id: uuid.UUID, contact_id: uuid.UUID
) -> CustomerEventOut:
    if type != event.type.value:
        raise Refused(
            f"the id {event.id!r} of source {event.source!r} was already taken for a {type} event",
            conflict=True,
        )
    return CustomerEventOut(
        id=event.id, status="duplicate", event_id=event_id, contact_id=contact_id
    )


async def _contact_of(uow: UnitOfWork, *, event: CustomerEventIn, at: datetime) -> uuid.UUID:
    """The contact the event's verified identities name, made when none does; the event's
    identities no one holds yet are given to it."""
    external = (external_namespace(event.source), event.external_id) if event.external_id else None
    email = ("email", event.email) if event.email else None
    phone = ("phone", event.phone) if event.phone else None
    keys = [k for k in (external, email, phone) if k is not None]
    known = await uow.customers.known_identities(keys)
    joined = [known[k].contact_id for k in keys if k in known and known[k].verified]
    held = set(known)
    if joined:
        contact_id = joined[0]
    else:
        addresses = [k for k in (email, phone) if k is not None and k not in known]
        if not addresses:
            raise Refused(
                "the customer's external_id is not known yet: send it once with the "
                "customer's email or phone"
                if email is None and phone is None
                else "the customer's email or phone is held by an unverified identity"
            )
        namespace, value = addresses[0]
        contact_id = await uow.contacts.contact_of_identity(
            SeenIdentity(
                namespace=namespace,
                value=value,
                verified=True,
                channel=CRM_CHANNEL,
                display_name=None,
                at=at,
            )
        )
        held.add(addresses[0])
    for namespace, value in keys:
        if (namespace, value) not in held:
            await uow.customers.add_identity(
                contact_id=contact_id, namespace=namespace, value=value, at=at
            )
    return contact_id


async def take_rows(
    uow: UnitOfWork, *, rows: Sequence[CsvRow], at: datetime
) -> list[CustomerEventOut]:
    """Take an import's rows: each published, a duplicate, or refused with its reason."""
    outcomes = []
    for row in rows:
        if row.event is None:
            outcome = CustomerEventOut(id=row.id, status="refused", reason=row.problem)
        else:
            try:
                outcome = await take_event(uow, event=row.event, at=at)
            except Refused as refused:
                outcome = CustomerEventOut(id=row.id, status="refused", reason=refused.reason)
        outcomes.append(outcome.model_copy(update={"line": row.line}))
    return outcomes


async def replayed(uow: UnitOfWork, *, events: Sequence[CustomerEventIn]) -> list[CustomerEventOut]:
    """What a webhook handled before made of its events, for the answer to its replay."""
    outcomes = []
    for event in events:
        seen = await uow.customers.seen(source=event.source, source_event_id=event.id)
        outcomes.append(
            CustomerEventOut(
                id=event.id,
                status="duplicate",
                event_id=seen.event_id
                if seen
                else customer_event_id(event.source, event.id, event.type),
                contact_id=seen.contact_id if seen else None,
            )
        )
    return outcomes
