"""Queries of the customer events: the identities they name and the events seen before."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import contact, customer_event, identity


@dataclass(frozen=True)
class KnownIdentity:
    """An identity an event names that routing already holds."""

    contact_id: uuid.UUID
    verified: bool


@dataclass(frozen=True)
class SeenCustomerEvent:
    """A customer event published before, by its source and the source's id."""

    event_id: uuid.UUID
    type: str
    contact_id: uuid.UUID


class CustomerEventRepository:
    """Customer events and the identities they name, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def known_identities(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], KnownIdentity]:
        """The identities of ``keys`` (namespace, value) that exist, locked against a split
        or a merge moving them while the event is joined."""
        if not keys:
            return {}
        rows = await self._session.execute(
            select(
                identity.c.namespace, identity.c.value, identity.c.contact_id, identity.c.verified
            )
            .where(tuple_(identity.c.namespace, identity.c.value).in_(list(keys)))
            .order_by(identity.c.id)
            .with_for_update()
        )
        return {
            (r.namespace, r.value): KnownIdentity(contact_id=r.contact_id, verified=r.verified)
            for r in rows
        }

    async def add_contacts(self, rows: Sequence[dict[str, Any]]) -> None:
        """New contacts (``id``, ``display_name``, ``created_at``)."""
        if rows:
            await self._session.execute(insert(contact), list(rows))

    async def add_identities(self, rows: Sequence[dict[str, Any]]) -> int:
        """Identities a source vouches for; how many were added (fewer when another
        transaction gave one of them to someone first)."""
        if not rows:
            return 0
        added = await self._session.execute(
            insert(identity)
            .on_conflict_do_nothing(index_elements=[identity.c.namespace, identity.c.value])
            .returning(identity.c.id),
            list(rows),
        )
        return len(added.all())

    async def claim_many(self, rows: Sequence[dict[str, Any]]) -> int:
        """Record events as published; how many were new (fewer when another transaction
        recorded one of them first)."""
        if not rows:
            return 0
        added = await self._session.execute(
            insert(customer_event)
            .on_conflict_do_nothing(
                index_elements=[customer_event.c.source, customer_event.c.source_event_id]
            )
            .returning(customer_event.c.event_id),
            list(rows),
        )
        return len(added.all())

    async def seen_many(
        self, pairs: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], SeenCustomerEvent]:
        """The events among (source, source event id) ``pairs`` published before."""
        if not pairs:
            return {}
        rows = await self._session.execute(
            select(
                customer_event.c.source,
                customer_event.c.source_event_id,
                customer_event.c.event_id,
                customer_event.c.type,
                customer_event.c.contact_id,
            ).where(
                tuple_(customer_event.c.source, customer_event.c.source_event_id).in_(list(pairs))
            )
        )
        return {
            (r.source, r.source_event_id): SeenCustomerEvent(
                event_id=r.event_id, type=r.type, contact_id=r.contact_id
            )
            for r in rows
        }

    async def move_to(self, *, source: uuid.UUID, target: uuid.UUID) -> None:
        """A merge: the absorbed contact's events belong to the surviving one."""
        await self._session.execute(
            update(customer_event)
            .where(customer_event.c.contact_id == source)
            .values(contact_id=target)
        )
