"""Turns chat messages into interaction events and publishes them."""

from datetime import UTC, datetime

from services.chat import repository
from services.chat.schemas import GenericChatMessage
from shared.db import Database
from shared.errors import UnprocessableEntity
from shared.events import (
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)
from shared.kafka import EventProducer, publish_interactions


def normalize_generic(message: GenericChatMessage, *, received_at: datetime) -> InteractionEvent:
    """The interaction event of one generic-webhook chat message."""
    if message.sent_at is not None and message.sent_at.tzinfo is None:
        raise UnprocessableEntity("sent_at must carry a time zone", detail={"field": "sent_at"})
    inbound = message.direction is Direction.INBOUND
    event_type = EventType.MESSAGE_RECEIVED if inbound else EventType.MESSAGE_SENT
    return InteractionEvent(
        event_id=event_id_for(message.source, message.message_id, event_type),
        type=event_type,
        channel=Channel.CHAT,
        provider=message.source,
        direction=message.direction,
        occurred_at=message.sent_at or received_at,
        received_at=received_at,
        customer=Customer(
            id=message.sender.email or message.sender.id,
            display_name=message.sender.name,
            kind="email" if message.sender.email else "id",
        ),
        conversation_key=f"{message.source}:{message.conversation_id}",
        content=Content(text=message.text),
        raw_ref=message.message_id,
        provider_meta={"sender_id": message.sender.id},
    )


async def publish_events(producer: EventProducer, events: list[InteractionEvent]) -> None:
    """Publish on ``interactions.v1`` keyed by conversation; returns once acknowledged."""
    await publish_interactions(producer, events)


def now() -> datetime:
    return datetime.now(UTC)


async def publish_slack_once(
    database: Database, producer: EventProducer, *, slack_event_id: str, event: InteractionEvent
) -> bool:
    """Publish a Slack message unless its event id was published before (a Slack retry).

    The id is recorded in the same transaction that waits for the broker, so a
    503 leaves it unrecorded and Slack's retry goes through.
    """
    async with database.transaction() as session:
        if not await repository.claim_slack_event(session, slack_event_id, now()):
            return False
        await publish_events(producer, [event])
    return True
