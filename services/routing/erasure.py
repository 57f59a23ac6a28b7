"""Erasure of a contact's personal data, and retention of transcripts.

Routing owns contacts: it erases its own rows in one transaction and announces the erasure
on ``privacy.v1`` through its outbox, so every other service erases what it holds of the
same conversations (``shared/privacy``).
"""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.repository.erasure import ConversationRef, ErasureRecord, ErasureRepository
from services.routing.settings import RoutingSettings
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.errors import NotFound
from shared.events import (
    PRIVACY_TOPIC,
    Channel,
    ErasedConversation,
    ErasedIdentity,
    ErasureEvent,
    event_id_for,
)
from shared.kafka import OutgoingRecord
from shared.privacy import RetentionRule, is_pseudonym

#: Conversations one erasure event names at most: a contact with more is announced in parts,
#: each record well under the broker's size limit.
CONVERSATIONS_PER_EVENT = 200


async def erase_contact(
    uow: UnitOfWork, *, contact_id: uuid.UUID, settings: RoutingSettings
) -> ErasureRecord:
    """Pseudonymize a contact in routing and announce it on ``privacy.v1``; once only.

    The contact loses its name; its identities and its conversations' keys and customer ids
    become pseudonyms; its transcripts lose texts, subjects, attachment names and provider
    ids. Asking again for an erased contact answers the first erasure.
    """
    if not await uow.contacts.lock_many([contact_id]):
        raise NotFound("no such contact")
    erasures = ErasureRepository(uow.session)
    done = await erasures.recorded(contact_id)
    if done is not None:
        return done
    identities = await uow.contacts.identities_of(contact_id)
    refs = await erasures.conversations_of(contact_id)
    secret = settings.pseudonym_secret
    await erasures.forget_contact(contact_id)
    await erasures.pseudonymize_identities(identities, secret)
    await erasures.pseudonymize_conversations(refs, secret)
    record = ErasureRecord(
        contact_id=contact_id,
        erasure_id=event_id_for("routing", str(contact_id), "contact.erased"),
        conversations=len(refs),
        identities=len(identities),
        erased_at=utc_now(),
    )
    await erasures.record(record)
    named = [ErasedIdentity(namespace=i.namespace, value=i.value) for i in identities]
    uow.steps.records.extend(
        announcements(
            record,
            [r for r in refs if not is_pseudonym(r.conversation_key)],
            [i for i in named if not is_pseudonym(i.value)],
        )
    )
    return record


def announcements(
    record: ErasureRecord, refs: list[ConversationRef], identities: list[ErasedIdentity]
) -> list[OutgoingRecord]:
    """The erasure's records for ``privacy.v1``: its conversations in parts of at most
    ``CONVERSATIONS_PER_EVENT``, the identities in the first; ids fixed by the erasure."""
    chunks = [
        refs[i : i + CONVERSATIONS_PER_EVENT] for i in range(0, len(refs), CONVERSATIONS_PER_EVENT)
    ] or [[]]
    records = []
    for number, chunk in enumerate(chunks, start=1):
        event = ErasureEvent(
            event_id=event_id_for("routing", f"{record.erasure_id}:{number}", "contact.erased"),
            occurred_at=record.erased_at,
            erasure_id=record.erasure_id,
            contact_id=record.contact_id,
            part=number,
            parts=len(chunks),
            conversations=[
                ErasedConversation(
                    conversation_id=r.id,
                    conversation_key=r.conversation_key,
                    channel=Channel(r.channel),
                    provider=r.provider,
                )
                for r in chunk
            ],
            identities=identities if number == 1 else [],
        )
        records.append(
            OutgoingRecord(PRIVACY_TOPIC, str(record.contact_id).encode(), event.to_json())
        )
    return records


def retention_rules(settings: RoutingSettings) -> list[RetentionRule]:
    """Routing's kinds of data with a retention: transcripts and reply texts."""

    async def messages(session: AsyncSession, cutoff: datetime, limit: int) -> int:
        return await ErasureRepository(session).sweep_messages(cutoff, limit)

    async def replies(session: AsyncSession, cutoff: datetime, limit: int) -> int:
        return await ErasureRepository(session).sweep_replies(cutoff, limit)

    days = settings.retention_messages_days
    return [
        RetentionRule(kind="messages", days=days, sweep=messages),
        RetentionRule(kind="replies", days=days, sweep=replies),
    ]
