"""The SQL of customer outcomes: conversations' contacts and labels, contact merges and the
CRM's lifecycle events, written by the consumers and read by the outcome reports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Table, and_, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.facts import ConversationFact
from services.metrics.models import (
    contact_merge,
    conversation_contact,
    conversation_fact,
    conversation_label,
    customer_event,
)
from shared.events import CustomerEvent

cc = conversation_contact
cl = conversation_label
COMPLAINT = "complaint"
cm = contact_merge
ce = customer_event
cf = conversation_fact


@dataclass(frozen=True)
class ContactAt:
    """A conversation's contact as one step named it."""

    conversation_id: uuid.UUID
    contact_id: uuid.UUID
    at: datetime


@dataclass(frozen=True)
class Merge:
    merged_contact_id: uuid.UUID
    contact_id: uuid.UUID
    at: datetime


@dataclass(frozen=True)
class CustomerStep:
    """One row of ``customer_event``."""

    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    contact_id: uuid.UUID
    amount: Decimal | None
    currency: str | None
    reason: str | None


#: The facts' columns outcomes read: the service level's waits, the first resolve, CSAT.
OUTCOME_FACT_COLUMNS = (
    "conversation_key",
    "conversation_id",
    "channel",
    "opened_at",
    "first_inbound_at",
    "queued_at",
    "answered_at",
    "queue_wait_ms",
    "abandoned_at",
    "abandon_wait_ms",
    "first_resolved_at",
    "csat_score",
    "csat_at",
)


@dataclass(frozen=True)
class ContactConversation:
    """A conversation's fact (the columns outcomes read), its contact (as named, before
    merges), and whether it carries the label ``complaint`` now."""

    fact: ConversationFact
    contact_id: uuid.UUID
    complaint: bool


async def save_contacts(session: AsyncSession, contacts: Sequence[ContactAt]) -> None:
    """Keep each conversation's latest contact; equal times settle on the larger contact id."""
    rows = [
        {"conversation_id": c.conversation_id, "contact_id": c.contact_id, "contact_at": c.at}
        for c in sorted(contacts, key=lambda c: c.conversation_id)
    ]
    await _keep_latest(session, cc, "contact_at", rows)


async def save_merges(session: AsyncSession, merges: Sequence[Merge]) -> None:
    """Keep each absorbed contact's latest merge (a contact is absorbed once in practice)."""
    rows = [
        {"merged_contact_id": m.merged_contact_id, "contact_id": m.contact_id, "merged_at": m.at}
        for m in sorted(merges, key=lambda m: m.merged_contact_id)
    ]
    await _keep_latest(session, cm, "merged_at", rows)


async def _keep_latest(
    session: AsyncSession, table: Table, at: str, rows: list[dict[str, object]]
) -> None:
    """Upsert ``rows`` by primary key, a row replacing the stored one only when later by
    (``at``, contact id): redelivered and reordered events end the same way."""
    if not rows:
        return
    statement = insert(table)
    excluded = statement.excluded
    newer = tuple_(excluded[at], excluded.contact_id) > tuple_(table.c[at], table.c.contact_id)
    await session.execute(
        statement.on_conflict_do_update(
            constraint=table.primary_key,
            set_={"contact_id": excluded.contact_id, at: excluded[at]},
            where=newer,
        ),
        rows,
    )


async def save_customer_events(session: AsyncSession, events: Sequence[CustomerEvent]) -> int:
    """Insert the CRM's events once each (by event id); how many were new."""
    rows = {
        e.event_id: {
            "event_id": e.event_id,
            "type": e.type.value,
            "occurred_at": e.occurred_at,
            "contact_id": e.contact_id,
            "source": e.source,
            "order_id": e.order_id,
            "amount": e.amount,
            "currency": e.currency,
            "reason": e.reason,
        }
        for e in events
    }
    if not rows:
        return 0
    statement = insert(ce).on_conflict_do_nothing().returning(ce.c.event_id)
    inserted = await session.execute(statement, [rows[key] for key in sorted(rows)])
    return len(inserted.all())


async def forget_reasons(session: AsyncSession, contact_ids: Sequence[uuid.UUID]) -> None:
    """Drop the churn reasons (the CRM's free text) of these contacts' lifecycle events."""
    if contact_ids:
        await session.execute(
            update(ce)
            .where(ce.c.contact_id.in_(sorted(set(contact_ids))), ce.c.reason.is_not(None))
            .values(reason=None)
        )


async def merges(session: AsyncSession) -> dict[uuid.UUID, uuid.UUID]:
    """Every merge: absorbed contact -> the contact it was merged into."""
    rows = await session.execute(select(cm.c.merged_contact_id, cm.c.contact_id))
    return {merged: into for merged, into in rows}


async def customer_steps_before(session: AsyncSession, end: datetime) -> list[CustomerStep]:
    """Every lifecycle event that happened before ``end``, in time order."""
    rows = await session.execute(
        select(
            ce.c.event_id,
            ce.c.type,
            ce.c.occurred_at,
            ce.c.contact_id,
            ce.c.amount,
            ce.c.currency,
            ce.c.reason,
        )
        .where(ce.c.occurred_at < end)
        .order_by(ce.c.occurred_at, ce.c.event_id)
    )
    return [CustomerStep(*row) for row in rows]


async def contact_conversations(
    session: AsyncSession, *, start: datetime, end: datetime, opened_until: datetime
) -> list[ContactConversation]:
    """The conversations with a contact that opened in ``[start, opened_until)``, were first
    resolved or answered a CSAT in ``[start, end)``: everything FCR and the service split of
    the range need (``opened_until`` reaches a repeat window past ``end``)."""
    opened = func.coalesce(cf.c.opened_at, cf.c.first_inbound_at)
    complaint = select(cl.c.conversation_key).where(cl.c.label == COMPLAINT).subquery("complaint")
    rows = await session.execute(
        select(
            *(cf.c[name] for name in OUTCOME_FACT_COLUMNS),
            cc.c.contact_id.label("contact_of"),
            complaint.c.conversation_key.is_not(None).label("complaint_of"),
        )
        .join(cc, cc.c.conversation_id == cf.c.conversation_id)
        .outerjoin(complaint, complaint.c.conversation_key == cf.c.conversation_key)
        .where(
            or_(
                and_(opened >= start, opened < opened_until),
                and_(cf.c.first_resolved_at >= start, cf.c.first_resolved_at < end),
                and_(cf.c.csat_at >= start, cf.c.csat_at < end),
            )
        )
        .order_by(cf.c.conversation_key)
    )
    found = []
    for row in rows:
        mapping = row._mapping
        found.append(
            ContactConversation(
                fact=ConversationFact(**{name: mapping[name] for name in OUTCOME_FACT_COLUMNS}),
                contact_id=mapping["contact_of"],
                complaint=bool(mapping["complaint_of"]),
            )
        )
    return found
