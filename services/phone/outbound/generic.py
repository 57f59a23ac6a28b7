"""Replies to generic call sources: a POST signed as Standard Webhooks sign them."""

from __future__ import annotations

import json

import httpx

from services.phone.settings import PhoneSettings
from shared.clock import utc_now
from shared.events import Channel, InteractionEvent
from shared.outbound import Outcome, not_configured, outcome_of
from shared.signatures import standard_webhook_headers

__all__ = ["GenericCallTransport", "reply_body"]

#: Providers with a transport of their own, or none (a Twilio or Asterisk call).
_NOT_GENERIC = ("twilio_sms", "twilio_voice", "asterisk")


class GenericCallTransport:
    """Posts each reply to ``PHONE_GENERIC_OUTBOUND_URL``, for whatever system logged the call."""

    name = "generic"

    def __init__(self, settings: PhoneSettings) -> None:
        self._url = settings.generic_outbound_url
        secret = settings.generic_outbound_secret or settings.generic_secret
        self._secret = secret.get_secret_value().encode()

    def serves(self, event: InteractionEvent) -> bool:
        # Generic call logs are named by their source (``generic`` unless the tool says).
        return event.channel is Channel.PHONE and event.provider not in _NOT_GENERIC

    def limits(self, event: InteractionEvent) -> list[tuple[str, float]]:
        return []

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        if not self._url:
            return not_configured("PHONE_GENERIC_OUTBOUND_URL")
        webhook_id = str(event.event_id)
        body = json.dumps(reply_body(event), separators=(",", ":")).encode()
        signed = standard_webhook_headers(self._secret, webhook_id, body, utc_now())
        response = await client.post(
            self._url, content=body, headers={"content-type": "application/json", **signed}
        )
        return outcome_of(response, message_id=_message_id(response) or webhook_id)


def reply_body(event: InteractionEvent) -> dict[str, object]:
    """What the telephony system receives: the call, the customer, the text and who answered."""
    _, _, call_id = event.conversation_key.partition(":")
    return {
        "type": "message.sent",
        "source": event.provider,
        "call_id": call_id,
        "conversation_key": event.conversation_key,
        "customer": event.customer.model_dump(exclude_none=True),
        "text": event.content.text if event.content else "",
        "in_reply_to": event.content.in_reply_to if event.content else None,
        "reply_id": event.raw_ref,
        "agent_id": event.agent_id,
        "sent_at": event.occurred_at.isoformat(),
    }


def _message_id(response: httpx.Response) -> str | None:
    """The system's own id for the message, when its answer gives one."""
    try:
        answer = response.json()
    except ValueError:
        return None
    if isinstance(answer, dict):
        for field in ("id", "message_id"):
            if isinstance(answer.get(field), str | int) and str(answer[field]):
                return str(answer[field])
    return None
