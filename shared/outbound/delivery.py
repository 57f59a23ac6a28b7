"""The delivery table (one row per agent reply, keyed by its message.sent event id) and its SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import InteractionEvent

__all__ = ["Delivery", "DeliveryState", "delivery_table"]


class DeliveryState(StrEnum):
    """Where a delivery stands; ``uncertain`` is a send whose answer was lost with its process."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


def delivery_table(metadata: MetaData) -> Table:
    """A connector's ``delivery`` table; its migration creates it in the connector's schema."""
    return Table(
        "delivery",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("provider", String(64), nullable=False),
        Column("event", Text, nullable=False),
        Column("state", String(16), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("lease_until", DateTime(timezone=True), nullable=True),
        Column("last_error", Text, nullable=True),
        Column("provider_message_id", String(255), nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("settled_at", DateTime(timezone=True), nullable=True),
        Index("ix_delivery_due", "state", "next_attempt_at"),
    )


@dataclass(frozen=True, slots=True)
class Delivery:
    """One claimed delivery: the reply to send and how often it was tried (this try included)."""

    event: InteractionEvent
    attempts: int
    created_at: datetime


async def add(
    session: AsyncSession, table: Table, events: Sequence[InteractionEvent], *, at: datetime
) -> int:
    """Queue a delivery per event; an event already queued changes nothing. How many are new."""
    if not events:
        return 0
    rows = [
        {
            "event_id": event.event_id,
            "provider": event.provider,
            "event": event.to_json().decode(),
            "state": DeliveryState.QUEUED,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        for event in sorted({e.event_id: e for e in events}.values(), key=lambda e: e.event_id)
    ]
    statement = insert(table).values(rows).on_conflict_do_nothing().returning(table.c.event_id)
    return len((await session.execute(statement)).all())


async def due(session: AsyncSession, table: Table, *, at: datetime, limit: int) -> list[Delivery]:
    """Lock up to ``limit`` queued deliveries that are due; other workers skip them."""
    rows = await session.execute(
        select(table.c.event_id, table.c.event, table.c.attempts, table.c.created_at)
        .where(table.c.state == DeliveryState.QUEUED, table.c.next_attempt_at <= at)
        .order_by(table.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    found: list[Delivery] = []
    for row in rows:
        try:
            event = InteractionEvent.from_json(row.event)
        except ValueError as exc:
            # A row no event can be read from (written by hand, or by another version) would
            # be claimed and fail forever, holding up every delivery behind it: settle it.
            await session.execute(
                update(table)
                .where(table.c.event_id == row.event_id)
                .values(
                    state=DeliveryState.FAILED,
                    settled_at=at,
                    last_error=f"unreadable event: {type(exc).__name__}",
                )
            )
            continue
        # The attempt about to be made counts: ``lease`` records it.
        found.append(Delivery(event, row.attempts + 1, row.created_at))
    return found


async def postpone(
    session: AsyncSession, table: Table, event_id: uuid.UUID, until: datetime
) -> None:
    """Leave a delivery queued until ``until`` (its rate limit has no token before)."""
    await session.execute(
        update(table).where(table.c.event_id == event_id).values(next_attempt_at=until)
    )


async def lease(
    session: AsyncSession, table: Table, event_ids: Sequence[uuid.UUID], *, until: datetime
) -> None:
    """Mark deliveries ``sending`` until ``until``, counting the attempt about to be made."""
    if event_ids:
        await session.execute(
            update(table)
            .where(table.c.event_id.in_(event_ids))
            .values(state=DeliveryState.SENDING, lease_until=until, attempts=table.c.attempts + 1)
        )


async def settle(
    session: AsyncSession,
    table: Table,
    event_id: uuid.UUID,
    *,
    state: DeliveryState,
    at: datetime,
    error: str | None = None,
    provider_message_id: str | None = None,
) -> None:
    """Record a delivery's final state (sent or failed); a sent one keeps its last error."""
    values: dict[str, object] = {
        "state": state,
        "lease_until": None,
        "settled_at": at,
        "provider_message_id": provider_message_id,
    }
    if error is not None:
        values["last_error"] = error
    await session.execute(update(table).where(table.c.event_id == event_id).values(values))


async def requeue(
    session: AsyncSession, table: Table, event_id: uuid.UUID, *, at: datetime, error: str
) -> None:
    """Put a delivery back in the queue for another attempt at ``at``."""
    await session.execute(
        update(table)
        .where(table.c.event_id == event_id)
        .values(state=DeliveryState.QUEUED, lease_until=None, next_attempt_at=at, last_error=error)
    )


async def expire_leases(
    session: AsyncSession, table: Table, *, at: datetime, error: str
) -> list[InteractionEvent]:
    """Mark ``uncertain`` every delivery left ``sending`` past its lease; their events."""
    rows = await session.execute(
        update(table)
        .where(table.c.state == DeliveryState.SENDING, table.c.lease_until < at)
        .values(state=DeliveryState.UNCERTAIN, settled_at=at, last_error=error)
        .returning(table.c.event)
    )
    return [InteractionEvent.from_json(row.event) for row in rows]


def after(at: datetime, seconds: float) -> datetime:
    """``at`` plus ``seconds``."""
    return at + timedelta(seconds=seconds)
