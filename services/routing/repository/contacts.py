"""Queries on contacts and their identities."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import CRM_NAMESPACE_PREFIX, Contact, Identity, SeenIdentity
from services.routing.models import contact, conversation, identity


class ContactRepository:
    """Contacts and their identities, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def contact_of_identity(self, seen: SeenIdentity) -> uuid.UUID:
        """The contact an identity belongs to, creating both when the identity is new."""
        new_contact = uuid.uuid4()
        await self._session.execute(
            insert(contact).values(
                id=new_contact, display_name=seen.display_name, created_at=seen.at
            )
        )
        inserted = (
            await self._session.execute(
                insert(identity)
                .values(
                    id=uuid.uuid4(),
                    contact_id=new_contact,
                    namespace=seen.namespace,
                    value=seen.value,
                    verified=seen.verified,
                    channel=seen.channel,
                    created_at=seen.at,
                )
                .on_conflict_do_nothing(index_elements=[identity.c.namespace, identity.c.value])
                .returning(identity.c.contact_id)
            )
        ).scalar()
        if inserted is not None:
            return new_contact
        await self._session.execute(delete(contact).where(contact.c.id == new_contact))
        existing = await self._session.scalar(
            select(identity.c.contact_id).where(
                identity.c.namespace == seen.namespace, identity.c.value == seen.value
            )
        )
        assert existing is not None
        contact_id: uuid.UUID = existing
        return contact_id

    async def get(self, contact_id: uuid.UUID) -> Contact | None:
        row = (
            await self._session.execute(select(contact).where(contact.c.id == contact_id))
        ).first()
        return Contact(**row._mapping) if row is not None else None

    async def identities_of(self, contact_id: uuid.UUID) -> list[Identity]:
        rows = await self._session.execute(
            select(identity)
            .where(identity.c.contact_id == contact_id)
            .order_by(identity.c.created_at)
        )
        return [Identity(**r._mapping) for r in rows]

    async def conversation_count(self, contact_id: uuid.UUID) -> int:
        count = await self._session.scalar(
            select(func.count()).where(conversation.c.contact_id == contact_id)
        )
        return int(count or 0)

    async def lock_many(self, ids: list[uuid.UUID]) -> list[Contact]:
        rows = await self._session.execute(
            select(contact).where(contact.c.id.in_(ids)).order_by(contact.c.id).with_for_update()
        )
        return [Contact(**r._mapping) for r in rows]

    async def merge(self, *, source: uuid.UUID, target: uuid.UUID) -> None:
        """Move every identity and conversation of ``source`` to ``target``; drop ``source``."""
        await self._session.execute(
            update(identity).where(identity.c.contact_id == source).values(contact_id=target)
        )
        await self._session.execute(
            update(conversation)
            .where(conversation.c.contact_id == source)
            .values(contact_id=target)
        )
        await self._session.execute(delete(contact).where(contact.c.id == source))

    async def split(
        self,
        *,
        source: uuid.UUID,
        identity_ids: list[uuid.UUID],
        at: datetime,
    ) -> tuple[uuid.UUID, list[uuid.UUID]]:
        """Move ``identity_ids`` (and the conversations they opened) to a new contact: its id,
        and the ids of the conversations that moved."""
        new_contact = uuid.uuid4()
        await self._session.execute(insert(contact).values(id=new_contact, created_at=at))
        moved = (
            await self._session.execute(
                update(identity)
                .where(identity.c.contact_id == source, identity.c.id.in_(identity_ids))
                .values(contact_id=new_contact)
                .returning(
                    identity.c.namespace, identity.c.value, identity.c.verified, identity.c.channel
                )
            )
        ).all()
        conversations: list[uuid.UUID] = []
        for namespace, value, verified, channel in moved:
            if namespace.startswith(CRM_NAMESPACE_PREFIX):
                # A CRM's customer id opened no conversation, whatever id a channel uses.
                continue
            # A conversation follows the identity that opened it: the same customer id, on the
            # identity's channel unless it is a verified address shared across channels.
            same_channel = true() if verified else conversation.c.channel == channel
            rows = await self._session.execute(
                update(conversation)
                .where(
                    conversation.c.contact_id == source,
                    same_channel,
                    func.lower(conversation.c.customer_id) == value.lower(),
                )
                .values(contact_id=new_contact)
                .returning(conversation.c.id)
            )
            conversations.extend(rows.scalars())
        return new_contact, conversations

    async def remember_agent(
        self, contact_id: uuid.UUID, agent_id: uuid.UUID, at: datetime
    ) -> None:
        """The customer's last agent, for sticky routing."""
        await self._session.execute(
            update(contact)
            .where(contact.c.id == contact_id)
            .values(last_agent_id=agent_id, last_agent_at=at)
        )

    async def contacts_of_identities(
        self, identities: Sequence[SeenIdentity]
    ) -> dict[tuple[str, str], uuid.UUID]:
        """:meth:`contact_of_identity` for several; (namespace, value) -> contact id."""
        first: dict[tuple[str, str], SeenIdentity] = {}
        for item in identities:
            first.setdefault((item.namespace, item.value), item)
        if not first:
            return {}
        fresh = {key: uuid.uuid4() for key in first}
        await self._session.execute(
            insert(contact),
            [
                {"id": fresh[key], "display_name": item.display_name, "created_at": item.at}
                for key, item in first.items()
            ],
        )
        rows = await self._session.execute(
            insert(identity)
            .on_conflict_do_nothing(index_elements=[identity.c.namespace, identity.c.value])
            .returning(identity.c.namespace, identity.c.value),
            [
                {
                    "id": uuid.uuid4(),
                    "contact_id": fresh[key],
                    "namespace": item.namespace,
                    "value": item.value,
                    "verified": item.verified,
                    "channel": item.channel,
                    "created_at": item.at,
                }
                for key, item in first.items()
            ],
        )
        inserted = {(r.namespace, r.value) for r in rows}
        known = [key for key in first if key not in inserted]
        if not known:
            return fresh
        await self._session.execute(
            delete(contact).where(contact.c.id.in_([fresh[k] for k in known]))
        )
        existing = await self._session.execute(
            select(identity.c.namespace, identity.c.value, identity.c.contact_id).where(
                tuple_(identity.c.namespace, identity.c.value).in_(known)
            )
        )
        result = {key: fresh[key] for key in inserted}
        result.update({(r.namespace, r.value): r.contact_id for r in existing})
        return result
