"""The erasure event routing publishes: parts for a contact with many conversations, each
record small, ids fixed by the erasure so a republished part is the same event."""

from __future__ import annotations

import uuid

from services.routing.erasure import CONVERSATIONS_PER_EVENT, announcements
from services.routing.repository.erasure import ConversationRef, ErasureRecord
from shared.clock import utc_now
from shared.events import PRIVACY_TOPIC, ErasedIdentity, ErasureEvent


def test_a_contact_with_many_conversations_is_announced_in_parts() -> None:
    record = ErasureRecord(
        contact_id=uuid.uuid4(),
        erasure_id=uuid.uuid4(),
        conversations=450,
        identities=1,
        erased_at=utc_now(),
    )
    refs = [
        ConversationRef(
            id=uuid.uuid4(),
            conversation_key=f"whatsapp:1065:{'4' * 15}{n:04d}",
            channel="social",
            provider="whatsapp",
            customer_id="+15551234567",
        )
        for n in range(450)
    ]
    identity = ErasedIdentity(namespace="phone", value="+15551234567")

    records = announcements(record, refs, [identity])

    events = [ErasureEvent.from_json(r.value) for r in records]
    assert len(events) == -(-450 // CONVERSATIONS_PER_EVENT) == 3
    assert [(e.part, e.parts) for e in events] == [(1, 3), (2, 3), (3, 3)]
    assert {r.topic for r in records} == {PRIVACY_TOPIC}
    assert {r.key for r in records} == {str(record.contact_id).encode()}
    assert [c.conversation_id for e in events for c in e.conversations] == [r.id for r in refs]
    assert [e.identities for e in events] == [[identity], [], []]
    assert all(e.erasure_id == record.erasure_id for e in events)
    assert len({e.event_id for e in events}) == 3
    assert all(len(r.value) < 100_000 for r in records)
    again = [ErasureEvent.from_json(r.value).event_id for r in announcements(record, refs, [])]
    assert again == [e.event_id for e in events]


def test_a_contact_without_conversations_is_still_announced_once() -> None:
    record = ErasureRecord(
        contact_id=uuid.uuid4(),
        erasure_id=uuid.uuid4(),
        conversations=0,
        identities=0,
        erased_at=utc_now(),
    )
    (only,) = announcements(record, [], [])
    event = ErasureEvent.from_json(only.value)
    assert (event.part, event.parts, event.conversations) == (1, 1, [])
