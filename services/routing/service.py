"""Routing's logic: conversations opened by inbound interactions."""

from collections.abc import Sequence

from services.routing import repository
from services.routing.models import outbox, processed_event
from shared.db import Database, claim_event
from shared.events import (
    ROUTING_TOPIC,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    RoutingEvent,
    event_id_for,
)
from shared.kafka import OutgoingRecord
from shared.outbox import enqueue

#: Interactions that can open a conversation.
OPENING_TYPES = frozenset({EventType.MESSAGE_RECEIVED, EventType.CALL_STARTED})


def opens_conversation(event: InteractionEvent) -> bool:
    """Inbound customer contact; auto-replies, bounces and statuses never open one."""
    return (
        event.direction is Direction.INBOUND and event.type in OPENING_TYPES and not event.automated
    )


async def record_interactions(database: Database, events: Sequence[InteractionEvent]) -> int:
    """Open or attach conversations for a batch of events, once per event id.

    Lifecycle events go to the outbox in the same transaction; returns how many.
    """
    outgoing: list[OutgoingRecord] = []
    async with database.transaction() as session:
        for event in events:
            if not await claim_event(session, processed_event, event.event_id):
                continue
            if not opens_conversation(event):
                continue
            opened_id = await repository.open_or_attach(session, event)
            if opened_id is None:
                continue
            step = RoutingEvent(
                event_id=event_id_for("routing", str(event.event_id), LifecycleStep.OPENED),
                type=LifecycleStep.OPENED,
                occurred_at=event.occurred_at,
                conversation_id=opened_id,
                conversation_key=event.conversation_key,
                channel=event.channel,
                cause_event_id=event.event_id,
            )
            outgoing.append(OutgoingRecord(ROUTING_TOPIC, event.kafka_key, step.to_json()))
        await enqueue(session, outbox, outgoing)
    return len(outgoing)
