"""Webhook endpoints of the chat connector: Slack and the generic chat webhook."""

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import ValidationError

from services.chat import service
from services.chat.deps import DatabaseDep, ProducerDep, SettingsDep
from services.chat.schemas import (
    Accepted,
    GenericChatBatch,
    GenericChatMessage,
    generic_messages,
)
from services.chat.security import GenericWebhook, SlackBody
from services.chat.slack import SlackEnvelope
from shared.clock import utc_now
from shared.errors import invalid_body
from shared.openapi import webhook
from shared.refusals import final_refusals
from shared.service import RuntimeDep

router = APIRouter(tags=["chat webhooks"])


#: The README's first event, as a generic chat tool sends it.
GENERIC_EXAMPLE = {
    "message_id": "m-1",
    "conversation_id": "c-1",
    "sender": {"id": "u-42", "name": "Ada"},
    "text": "Hello, my order is late",
}


@router.post(
    "/webhooks/generic",
    status_code=202,
    response_model=Accepted,
    openapi_extra=webhook(
        signature="StandardWebhooks",
        body=GenericChatMessage | GenericChatBatch,
        example=GENERIC_EXAMPLE,
    ),
)
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


#: Slack retries an event three times unless the error says `X-Slack-No-Retry: 1`: the
#: refusals no retry can change (a bad payload, a body too large) say it.
SLACK_FINAL = Depends(final_refusals(headers={"X-Slack-No-Retry": "1"}))


@router.post(
    "/webhooks/slack",
    dependencies=[SLACK_FINAL],
    openapi_extra=webhook(signature="SlackSignature", body=SlackEnvelope),
)
async def slack_events(
    body: SlackBody, settings: SettingsDep, runtime: RuntimeDep
) -> dict[str, Any]:
    """Slack Events API: URL verification and message events; retries publish nothing new."""
    budget = min(settings.slack_publish_timeout_s, runtime.platform.kafka_publish_timeout_s)
    return await service.receive_slack(
        runtime.database,
        runtime.producer,
        body=body,
        received_at=utc_now(),
        publish_timeout_s=budget,
    )
