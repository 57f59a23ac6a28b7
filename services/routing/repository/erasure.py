"""Queries that erase a contact's personal data, and the retention sweeps of transcripts."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import SecretStr
from sqlalchemy import bindparam, delete, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import Identity
from services.routing.models import (
    agent_notice,
    contact,
    contact_erasure,
    conversation,
    identity,
    message,
    offer,
    reply,
    survey_question,
)
from shared.privacy import delete_older, pseudonym


@dataclass(frozen=True)
class ConversationRef:
    """How the other services know a conversation: its id, key, channel and provider."""

    id: uuid.UUID
    conversation_key: str
    channel: str
    provider: str
    customer_id: str


@dataclass(frozen=True)
class ErasureRecord:
    """A contact's erasure, as recorded: its id, the contact, how many conversations and
    identities it covered, and when."""

    contact_id: uuid.UUID
    erasure_id: uuid.UUID
    conversations: int
    identities: int
    erased_at: datetime


class ErasureRepository:
    """Erasure of one contact, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def recorded(self, contact_id: uuid.UUID) -> ErasureRecord | None:
        row = (
            await self._session.execute(
                select(contact_erasure).where(contact_erasure.c.contact_id == contact_id)
            )
        ).first()
        return ErasureRecord(**row._mapping) if row is not None else None

    async def record(self, record: ErasureRecord) -> None:
        await self._session.execute(
            insert(contact_erasure)
            .values(
                contact_id=record.contact_id,
                erasure_id=record.erasure_id,
                conversations=record.conversations,
                identities=record.identities,
                erased_at=record.erased_at,
            )
            .on_conflict_do_nothing()
        )

    async def conversations_of(self, contact_id: uuid.UUID) -> list[ConversationRef]:
        """Every conversation of the contact, locked, in id order."""
        rows = await self._session.execute(
            select(
                conversation.c.id,
                conversation.c.conversation_key,
                conversation.c.channel,
                conversation.c.provider,
                conversation.c.customer_id,
            )
            .where(conversation.c.contact_id == contact_id)
            .order_by(conversation.c.id)
            .with_for_update()
        )
        return [ConversationRef(**r._mapping) for r in rows]

    async def forget_contact(self, contact_id: uuid.UUID) -> None:
        await self._session.execute(
            update(contact).where(contact.c.id == contact_id).values(display_name=None)
        )

    async def pseudonymize_identities(
        self, identities: Sequence[Identity], secret: SecretStr
    ) -> None:
        """Each identity's value becomes its pseudonym; one whose pseudonym another identity
        of the namespace already holds (the same customer, erased before) is deleted."""
        for found in identities:
            alias = pseudonym(secret, found.value)
            if alias == found.value:
                continue
            taken = await self._session.scalar(
                select(identity.c.id).where(
                    identity.c.namespace == found.namespace, identity.c.value == alias
                )
            )
            if taken is not None:
                await self._session.execute(delete(identity).where(identity.c.id == found.id))
            else:
                await self._session.execute(
                    update(identity).where(identity.c.id == found.id).values(value=alias)
                )

    async def pseudonymize_conversations(
        self, refs: Sequence[ConversationRef], secret: SecretStr
    ) -> None:
        """Keys and customer ids become pseudonyms; the transcripts lose their words."""
        if not refs:
            return
        await self._session.execute(
            update(conversation)
            .where(conversation.c.id == bindparam("ref_id"))
            .values(conversation_key=bindparam("new_key"), customer_id=bindparam("new_customer")),
            [
                {
                    "ref_id": ref.id,
                    "new_key": pseudonym(secret, ref.conversation_key),
                    "new_customer": pseudonym(secret, ref.customer_id),
                }
                for ref in refs
            ],
        )
        ids = [ref.id for ref in refs]
        await self._session.execute(
            update(message)
            .where(message.c.conversation_id.in_(ids))
            .values(
                conversation_key=select(conversation.c.conversation_key)
                .where(conversation.c.id == message.c.conversation_id)
                .scalar_subquery(),
                text=None,
                stripped_text=None,
                subject=None,
                attachments=literal([], JSONB),
                raw_ref=None,
                status_reason=None,
            )
        )
        await self._session.execute(
            update(reply).where(reply.c.conversation_id.in_(ids)).values(text="")
        )
        await self._session.execute(
            update(offer).where(offer.c.conversation_id.in_(ids)).values(note=None)
        )
        # A survey question waiting for a reply holds the raw key: it is withdrawn.
        await self._session.execute(
            delete(survey_question).where(survey_question.c.conversation_id.in_(ids))
        )
        await self._session.execute(
            delete(agent_notice).where(
                agent_notice.c.data["conversation_id"].astext.in_([str(i) for i in ids])
            )
        )

    async def sweep_messages(self, cutoff: datetime, limit: int) -> int:
        """Delete transcript messages older than ``cutoff``; how many."""
        return await delete_older(self._session, message, message.c.at, cutoff, limit)

    async def sweep_replies(self, cutoff: datetime, limit: int) -> int:
        """Delete agents' replies (their texts) older than ``cutoff``; how many."""
        return await delete_older(self._session, reply, reply.c.sent_at, cutoff, limit)
