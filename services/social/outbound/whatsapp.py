"""Replies to WhatsApp customers: the Cloud API's ``POST /{phone_number_id}/messages``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from services.social.outbound.answers import json_of
from services.social.outbound.graph import graph_error_outcome
from services.social.settings import SocialSettings
from shared.clock import utc_now
from shared.events import InteractionEvent
from shared.outbound import Failed, Outcome, Sent, not_configured

__all__ = ["WhatsAppTransport"]

PROVIDER = "whatsapp"

#: A business may answer freely this long after the customer's last message; later, only
#: with an approved template.
CUSTOMER_SERVICE_WINDOW = timedelta(hours=24)

OUTSIDE_WINDOW = "outside WhatsApp's 24-hour customer service window: send an approved template"

#: Cloud API throughput per business phone number (its default; upgraded numbers allow more).
NUMBER_PER_SECOND = 80.0
#: The pair rate: one message every 6 seconds from one business number to one customer
#: (error 131056 beyond it; the bursts WhatsApp tolerates borrow from later sends).
CUSTOMER_PER_SECOND = 1 / 6


def number_and_customer(conversation_key: str) -> tuple[str, str] | None:
    """Our phone number id and the customer's wa_id of ``whatsapp:{number}:{wa_id}``."""
    parts = conversation_key.split(":")
    if len(parts) != 3 or parts[1] == "account" or not all(parts[1:]):
        return None
    return parts[1], parts[2]


def in_window(event: InteractionEvent) -> bool:
    """Whether the customer wrote less than 24 hours ago (unknown: not)."""
    written = event.provider_meta.get("customer_last_message_at")
    if not written:
        return False
    try:
        at = datetime.fromisoformat(written)
    except ValueError:
        return False
    if at.tzinfo is None:
        return False
    return utc_now() - at < CUSTOMER_SERVICE_WINDOW


class WhatsAppTransport:
    """Sends a reply as text inside the customer-service window, or as the template it names."""

    name = PROVIDER

    def __init__(self, settings: SocialSettings) -> None:
        self._url = settings.meta_graph_url.rstrip("/")
        self._token = settings.whatsapp_token.get_secret_value()

    def serves(self, event: InteractionEvent) -> bool:
        return event.provider == PROVIDER

    def limits(self, event: InteractionEvent) -> list[tuple[str, float]]:
        pair = number_and_customer(event.conversation_key)
        if pair is None:
            return []
        number, customer = pair
        return [
            (f"whatsapp:{number}", NUMBER_PER_SECOND),
            (f"whatsapp:{number}:{customer}", CUSTOMER_PER_SECOND),
        ]

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        if not self._token:
            return not_configured("SOCIAL_WHATSAPP_TOKEN")
        pair = number_and_customer(event.conversation_key)
        if pair is None:
            return Failed(f"whatsapp: {event.conversation_key} is not a customer conversation")
        number, customer = pair
        body = message_body(event, customer)
        if body is None:
            return Failed(OUTSIDE_WINDOW)
        response = await client.post(
            f"{self._url}/{number}/messages",
            headers={"Authorization": f"Bearer {self._token}"},
            json=body,
        )
        if response.is_success:
            messages = json_of(response).get("messages")
            if isinstance(messages, list) and messages and isinstance(messages[0], dict):
                return Sent(str(messages[0].get("id", "")))
        return graph_error_outcome(response)


def message_body(event: InteractionEvent, wa_id: str) -> dict[str, Any] | None:
    """The Cloud API message: the template the reply names, else its text inside the window.

    None when the reply may not be sent: text outside the customer-service window.
    """
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": wa_id,
    }
    template = event.provider_meta.get("whatsapp_template")
    if template:
        language = event.provider_meta.get("whatsapp_template_language") or "en_US"
        return body | {
            "type": "template",
            "template": {"name": template, "language": {"code": language}},
        }
    if not in_window(event):
        return None
    content = event.content
    body |= {"type": "text", "text": {"body": content.text if content and content.text else ""}}
    if content and content.in_reply_to:
        body["context"] = {"message_id": content.in_reply_to}
    return body
