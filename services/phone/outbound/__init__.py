"""Agents' replies leave the phone connector: Twilio SMS and the generic outbound webhook.

Calls are not here: an accepted call is connected to its agent by ``services.phone.connect``.
"""

from aiokafka import ConsumerRecord

from services.phone.outbound.generic import generic_call_transport
from services.phone.outbound.sms import TwilioSmsTransport
from services.phone.settings import PhoneSettings
from shared.outbound import Transport

__all__ = ["TwilioSmsTransport", "may_be_delivered", "transports"]

#: Conversation keys of calls only a live agent answers: no reply is delivered to them.
_CALL_KEYS = (b"twilio_voice:", b"asterisk:")


def transports(settings: PhoneSettings) -> list[Transport]:
    """The phone connector's outbound transports, Twilio SMS first (generic serves the rest)."""
    return [TwilioSmsTransport(settings), generic_call_transport(settings)]


def may_be_delivered(record: ConsumerRecord) -> bool:
    """Whether a record may be a reply this connector delivers.

    SMS keys start with ``sms:``; a generic call log's key is ``{source}:{call_id}`` with a
    source its tool chooses, so only Twilio's and Asterisk's call keys can be ruled out here.
    """
    return record.key is not None and not record.key.startswith(_CALL_KEYS)
