"""Redirecting a waiting Twilio call: to a ``<Dial>`` of its agent, or out of hours to the
closed message and a voicemail ``<Record>``."""

from __future__ import annotations

from xml.sax.saxutils import escape

import httpx

from services.phone.outbound.twilio_rest import twilio_outcome
from services.phone.settings import PhoneSettings
from shared.outbound import Outcome, not_configured

__all__ = ["RECORDING_PATH", "VOICEMAIL_PATH", "TwilioCalls", "dial_twiml", "voicemail_twiml"]

#: Where Twilio posts the recording once the caller has left their message (endpoints.py).
VOICEMAIL_PATH = "/twilio/voice/voicemail"
#: Where Twilio posts the recording once it is stored, even after the call ended.
RECORDING_PATH = "/twilio/voice/recording"


def dial_twiml(agent_address: str) -> str:
    """TwiML dialling the agent at a ``sip:`` or ``client:`` address or a phone number."""
    if agent_address.startswith("sip:"):
        noun = f"<Sip>{escape(agent_address)}</Sip>"
    elif agent_address.startswith("client:"):
        noun = f"<Client>{escape(agent_address.removeprefix('client:'))}</Client>"
    else:
        noun = f"<Number>{escape(agent_address)}</Number>"
    return f"<Response><Dial>{noun}</Dial></Response>"


#: The longest TwiML Twilio takes in a call update's ``Twiml`` (its error 32018).
TWIML_MAX_CHARS = 4000


def _attribute(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def voicemail_twiml(
    message: str, *, action_url: str | None, max_seconds: int, recording_url: str | None = None
) -> str:
    """TwiML that says the closed message, then records the caller's message.

    ``action_url`` (absolute: a TwiML given through the REST API has no document URL to
    resolve a relative one against) receives the recording; Twilio does not request it for
    an empty recording, and the call then goes on to ``<Hangup/>``. Without it the caller
    only hears the message. ``recording_url`` is the ``recordingStatusCallback``: Twilio
    posts the stored recording there, also when the caller hung up while recording and the
    call ended before the action was requested. A message too long for Twilio's 4000
    characters of TwiML is cut short: the caller hears its start rather than nothing.
    """
    record = ""
    if action_url is not None:
        callback = ""
        if recording_url is not None:
            callback = (
                f' recordingStatusCallback="{_attribute(recording_url)}"'
                ' recordingStatusCallbackMethod="POST"'
            )
        record = (
            f'<Record action="{_attribute(action_url)}" method="POST" '
            f'maxLength="{max_seconds}" finishOnKey="#" playBeep="true"{callback}/>'
        )

    def twiml(text: str) -> str:
        return f"<Response><Say>{escape(text)}</Say>{record}<Hangup/></Response>"

    document = twiml(message)
    while len(document) > TWIML_MAX_CHARS and message:
        # Escaping only lengthens the text: cutting the excess from it may not yet suffice.
        message = message[: len(message) - (len(document) - TWIML_MAX_CHARS)]
        document = twiml(message)
    return document


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
