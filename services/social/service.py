"""Turns the platforms' verified webhooks into interaction events and publishes them."""

from __future__ import annotations

from datetime import datetime

from services.social import messenger, telegram, whatsapp, x
from services.social.events import Message, to_event
from services.social.schemas import MessagingWebhook, MetaWebhook, TelegramUpdate, XActivity
from shared.events import InteractionEvent
from shared.kafka import EventProducer, publish_interactions


async def ingest_meta(
    webhook: MetaWebhook, *, producer: EventProducer, received_at: datetime
) -> list[InteractionEvent]:
    """Publish every message of a Messenger, Instagram or WhatsApp webhook."""
    if isinstance(webhook, MessagingWebhook):
        messages = messenger.messages_of(webhook, received_at=received_at)
    else:
        messages = whatsapp.messages_of(webhook, received_at=received_at)
    return await _publish(messages, producer=producer, received_at=received_at)


async def ingest_x(
    activity: XActivity, *, producer: EventProducer, received_at: datetime
) -> list[InteractionEvent]:
    """Publish every event of an X Account Activity delivery."""
    messages = x.messages_of(activity, received_at=received_at)
    return await _publish(messages, producer=producer, received_at=received_at)


async def ingest_telegram(
    update: TelegramUpdate, *, producer: EventProducer, received_at: datetime
) -> list[InteractionEvent]:
    """Publish the event of one Telegram update."""
    messages = telegram.messages_of(update, received_at=received_at)
    return await _publish(messages, producer=producer, received_at=received_at)


async def _publish(
    messages: list[Message], *, producer: EventProducer, received_at: datetime
) -> list[InteractionEvent]:
    """One ``publish_many`` for the whole batch: it returns once all are acknowledged."""
    events = [to_event(message, received_at=received_at) for message in messages]
    await publish_interactions(producer, events)
    return events
