"""Replies by SMS: Twilio's Messages API, from the number the customer wrote to."""

from __future__ import annotations

import httpx

from services.phone.outbound.twilio_rest import twilio_outcome
from services.phone.settings import PhoneSettings
from shared.events import InteractionEvent
from shared.outbound import Outcome, not_configured

__all__ = ["STATUS_CALLBACK_PATH", "TwilioSmsTransport", "our_number"]

PROVIDER = "twilio_sms"

#: Where Twilio reports what became of a message we sent (see endpoints.py).
STATUS_CALLBACK_PATH = "/twilio/sms/status"


def our_number(event: InteractionEvent) -> str | None:
    """The number the customer wrote to, from the key ``sms:{customer}:{ours}``."""
    prefix = f"sms:{event.customer.id}:"
    if event.conversation_key.startswith(prefix):
        return event.conversation_key.removeprefix(prefix) or None
    return None


class TwilioSmsTransport:
    """Sends a reply as an SMS; a long-code number takes about one message a second."""

    name = PROVIDER

    def __init__(self, settings: PhoneSettings) -> None:
        self._account_sid = settings.twilio_account_sid
        self._auth_token = settings.twilio_auth_token.get_secret_value()
        self._url = (
            f"{settings.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/"
            f"{self._account_sid}/Messages.json"
        )
        self._from_number = settings.twilio_from_number
        base = settings.public_base_url
        self._status_callback = base.rstrip("/") + STATUS_CALLBACK_PATH if base else None

    def serves(self, event: InteractionEvent) -> bool:
        return event.provider == PROVIDER and event.conversation_key.startswith("sms:")

    def limits(self, event: InteractionEvent) -> list[tuple[str, float]]:
        return [(f"{PROVIDER}:{our_number(event) or self._from_number}", 1.0)]

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        if not self._account_sid:
            return not_configured("PHONE_TWILIO_ACCOUNT_SID")
        sender = our_number(event) or self._from_number
        if not sender:
            return not_configured("PHONE_TWILIO_FROM_NUMBER")
        form = {
            "To": event.customer.id,
            "From": sender,
            "Body": (event.content.text or "") if event.content else "",
        }
        if self._status_callback:
            form["StatusCallback"] = self._status_callback
        response = await client.post(
            self._url, data=form, auth=(self._account_sid, self._auth_token)
        )
        return twilio_outcome(response)
