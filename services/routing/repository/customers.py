"""Queries of the customer events: the identities they name and the events seen before."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import customer_event, identity


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

    async def add_identity(
        self, *, contact_id: uuid.UUID, namespace: str, value: str, at: datetime
    ) -> bool:
        """Give ``contact_id`` a verified identity the source vouches for; False when another
        transaction gave it to someone first."""
        added = await self._session.scalar(
            insert(identity)
            .values(
                id=uuid.uuid4(),
                contact_id=contact_id,
                namespace=namespace,
                value=value,
                verified=True,
                channel="crm",
                created_at=at,
            )
            .on_conflict_do_nothing(index_elements=[identity.c.namespace, identity.c.value])
            .returning(identity.c.id)
        )
        return added is not None

    async def claim(
        self,
        *,
        source: str,
        source_event_id: str,
        event_id: uuid.UUID,
        type: str,
        contact_id: uuid.UUID,
        at: datetime,
    ) -> SeenCustomerEvent | None:
        """Record an event as published; the earlier one when the source sent it before."""
        inserted = await self._session.scalar(
            insert(customer_event)
            .values(
                source=source,
                source_event_id=source_event_id,
                event_id=event_id,
                type=type,
                contact_id=contact_id,
                received_at=at,
            )
            .on_conflict_do_nothing(
                index_elements=[customer_event.c.source, customer_event.c.source_event_id]
            )
            .returning(customer_event.c.event_id)
        )
        if inserted is not None:
            return None
        return await self.seen(source=source, source_event_id=source_event_id)

    async def seen(self, *, source: str, source_event_id: str) -> SeenCustomerEvent | None:
        row = (
            await self._session.execute(
                select(
                    customer_event.c.event_id, customer_event.c.type, customer_event.c.contact_id
                ).where(
                    customer_event.c.source == source,
                    customer_event.c.source_event_id == source_event_id,
                )
            )
        ).first()
        if row is None:
            return None
        return SeenCustomerEvent(event_id=row.event_id, type=row.type, contact_id=row.contact_id)

    async def move_to(self, *, source: uuid.UUID, target: uuid.UUID) -> None:
        """A merge: the absorbed contact's events belong to the surviving one."""
        await self._session.execute(
            update(customer_event)
            .where(customer_event.c.contact_id == source)
            .values(contact_id=target)
        )
