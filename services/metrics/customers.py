"""What routing's contact steps and the CRM's lifecycle events teach metrics about customers.

Every rule is order-independent: a conversation's contact is the latest named (equal times
settled by the larger contact id), merges are kept as they come and followed when read,
lifecycle events are kept once each by event id. (Labels are kept by ``service``.)
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.outcomes import Contacts
from services.metrics.repository import customers
from services.metrics.repository.customers import ContactAt, Merge
from shared.db import Database
from shared.events import CustomerEvent, LifecycleStep, RoutingEvent


def _later(a: ContactAt, b: ContactAt) -> ContactAt:
    return a if (a.at, a.contact_id) >= (b.at, b.contact_id) else b


async def record_contact_steps(session: AsyncSession, events: Sequence[Any]) -> None:
    """Fold a batch's contacts and merges in (inside the consumer's transaction)."""
    contacts: dict[uuid.UUID, ContactAt] = {}
    merges: dict[uuid.UUID, Merge] = {}
    for event in events:
        if not isinstance(event, RoutingEvent):
            continue
        at = event.occurred_at
        if event.type is LifecycleStep.CONTACT_MERGED:
            if event.contact_id is None or event.merged_contact_id is None:
                continue
            if event.contact_id == event.merged_contact_id:
                continue
            merge = Merge(event.merged_contact_id, event.contact_id, at)
            known = merges.get(merge.merged_contact_id)
            if known is None or (merge.at, merge.contact_id) > (known.at, known.contact_id):
                merges[merge.merged_contact_id] = merge
            continue
        conversation = event.conversation_id
        if conversation is None or not event.type.value.startswith("conversation."):
            continue
        if event.contact_id is not None:
            named = ContactAt(conversation, event.contact_id, at)
            known_contact = contacts.get(conversation)
            contacts[conversation] = (
                named if known_contact is None else _later(named, known_contact)
            )
    await customers.save_contacts(session, list(contacts.values()))
    await customers.save_merges(session, list(merges.values()))


async def record_customer_events(database: Database, events: Sequence[CustomerEvent]) -> int:
    """Keep a batch of customers.v1 events; redeliveries (same event id) count once."""
    async with database.transaction() as session:
        return await customers.save_customer_events(session, events)


async def forget_contact(session: AsyncSession, contact_id: uuid.UUID) -> None:
    """An erased contact: their lifecycle events keep their numbers (time, kind, amount) but
    lose the churn reasons, theirs and those of the contacts merged into them."""
    contacts = Contacts(await customers.merges(session))
    absorbed = contacts.members([contact_id]).get(contact_id, [])
    await customers.forget_reasons(session, [contact_id, *absorbed])
