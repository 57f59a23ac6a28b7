"""Turns chat messages into interaction events and publishes them."""

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from services.chat import repository, slack
from services.chat.models import webhook_message
from services.chat.schemas import GenericChatMessage
from shared.clock import utc_now
from shared.db import Database
from shared.errors import UnprocessableEntity, invalid_body
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
from shared.language import language_of
from shared.security import GenericDelivery
from shared.webhook_ids import handled_before, remember_handled


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
        content=Content(
            text=message.text,
            language=language_of(message.text, hint=message.language) if inbound else None,
        ),
        raw_ref=message.message_id,
        provider_meta={"sender_id": message.sender.id},
    )


async def publish_events(producer: EventProducer, events: list[InteractionEvent]) -> None:
    """Publish on ``interactions.v1`` keyed by conversation; returns once acknowledged."""
    await publish_interactions(producer, events)


async def publish_generic(
    database: Database,
    producer: EventProducer,
    messages: list[GenericChatMessage],
    *,
    delivery: GenericDelivery,
    received_at: datetime,
) -> tuple[list[InteractionEvent], bool]:
    """Publish a generic-webhook delivery: all its messages, or none when one is refused.

    Its events, and whether they were published now: a webhook-id handled before (a
    retry, a replay) publishes nothing again. The id is recorded once the broker has the
    events, so a 503 leaves it unrecorded and the sender's retry goes through.
    """
    events = [normalize_generic(message, received_at=received_at) for message in messages]
    if await handled_before(database, webhook_message, delivery):
        return events, False
    await publish_events(producer, events)
    await remember_handled(database, webhook_message, delivery, received_at)
    return events, True


async def publish_slack_once(
    database: Database,
    producer: EventProducer,
    *,
    slack_event_id: str,
    event: InteractionEvent,
    timeout_s: float,
) -> bool:
    """Publish a Slack message unless its event id was published before (a Slack retry).

    The id is recorded in the same transaction that waits for the broker, so a
    503 leaves it unrecorded and Slack's retry goes through. The broker gets
    ``timeout_s`` at most: Slack takes no answer after 3 s as a failure and resends
    at once.
    """
    async with database.transaction() as session:
        if not await repository.claim_slack_event(session, slack_event_id, utc_now()):
            return False
        await publish_interactions(producer, [event], timeout_s=timeout_s)
    return True


async def receive_slack(
    database: Database,
    producer: EventProducer,
    *,
    body: bytes,
    received_at: datetime,
    publish_timeout_s: float,
) -> dict[str, Any]:
    """Answer one verified Slack Events API request: a challenge, a publish, or why not."""
    try:
        envelope = slack.SlackEnvelope.model_validate_json(body)
        message = (
            slack.SlackMessage.model_validate(envelope.event)
            if envelope.type == "event_callback" and envelope.event is not None
            else None
        )
    except ValidationError as exc:
        raise invalid_body(exc, "Slack event is invalid") from None
    if envelope.type == "url_verification":
        return {"challenge": envelope.challenge}
    if message is None or not envelope.event_id:
        return {"event_ids": [], "ignored": f"envelope type {envelope.type}"}
    reason = slack.ignored_because(message)
    if reason is not None:
        return {"event_ids": [], "ignored": reason}
    event = slack.to_event(envelope, message, received_at=received_at)
    published = await publish_slack_once(
        database,
        producer,
        slack_event_id=envelope.event_id,
        event=event,
        timeout_s=publish_timeout_s,
    )
    return {"event_ids": [str(event.event_id)] if published else [], "retry": not published}
