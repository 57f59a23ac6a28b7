"""Connecting a waiting Twilio call to its agent: the call is redirected to a ``<Dial>``."""

from __future__ import annotations

from xml.sax.saxutils import escape

import httpx

from services.phone.outbound.twilio_rest import twilio_outcome
from services.phone.settings import PhoneSettings
from shared.outbound import Outcome, not_configured

__all__ = ["TwilioCalls", "dial_twiml"]


def dial_twiml(agent_address: str) -> str:
    """TwiML dialling the agent at a ``sip:`` or ``client:`` address or a phone number."""
    if agent_address.startswith("sip:"):
        noun = f"<Sip>{escape(agent_address)}</Sip>"
    elif agent_address.startswith("client:"):
        noun = f"<Client>{escape(agent_address.removeprefix('client:'))}</Client>"
    else:
        noun = f"<Number>{escape(agent_address)}</Number>"
    return f"<Response><Dial>{noun}</Dial></Response>"


class TwilioCalls:
    """Twilio's Calls API: new instructions for a call in progress."""

    def __init__(self, settings: PhoneSettings) -> None:
        self._account_sid = settings.twilio_account_sid
        self._auth_token = settings.twilio_auth_token.get_secret_value()
        self._base = (
            f"{settings.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/{self._account_sid}/Calls"
        )

    async def redirect(self, call_sid: str, twiml: str, client: httpx.AsyncClient) -> Outcome:
        """Make call ``call_sid`` follow ``twiml``; a call already over fails (400 or 404)."""
        if not self._account_sid:
            return not_configured("PHONE_TWILIO_ACCOUNT_SID")
        response = await client.post(
            f"{self._base}/{call_sid}.json",
            data={"Twiml": twiml},
            auth=(self._account_sid, self._auth_token),
        )
        return twilio_outcome(response)
