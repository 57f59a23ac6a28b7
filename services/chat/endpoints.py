"""Webhook endpoints of the chat connector: Slack and the generic chat webhook."""

from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError

from services.chat import service
from services.chat.deps import DatabaseDep, ProducerDep
from services.chat.schemas import Accepted, generic_messages
from services.chat.security import GenericWebhook, SlackBody
from shared.clock import utc_now
from shared.errors import invalid_body

router = APIRouter(tags=["chat webhooks"])


@router.post("/webhooks/generic", status_code=202, response_model=Accepted)
async def generic_webhook(
    delivery: GenericWebhook, database: DatabaseDep, producer: ProducerDep
) -> Accepted:
    """Accept a chat message, or `{"messages": [...]}`, signed as Standard Webhooks sign."""
    try:
        messages = generic_messages(delivery.body)
    except ValidationError as exc:
        raise invalid_body(exc, "message is invalid") from None
    for message in messages:
        delivery.require_source(message.source)
    events, published = await service.publish_generic(
        database, producer, messages, delivery=delivery, received_at=utc_now()
    )
    return Accepted(event_ids=[str(event.event_id) for event in events], duplicate=not published)


@router.post("/webhooks/slack")
async def slack_events(
    body: SlackBody, database: DatabaseDep, producer: ProducerDep
) -> dict[str, Any]:
    """Slack Events API: URL verification and message events; retries publish nothing new."""
    return await service.receive_slack(database, producer, body=body, received_at=utc_now())
