"""Which conversations an agent can answer with a message, and what the answer carries."""

import fnmatch

from services.routing.domain import Conversation
from services.routing.repository.messages import LastWord
from shared.errors import Conflict
from shared.events import Channel

#: Conversation keys of text messages on the phone channel (Twilio SMS); the phone
#: channel's other conversations are calls.
SMS_KEY_PREFIX = "sms:"

#: Providers of live calls: a caller waits on the line, and no text reaches them.
LIVE_CALL_PROVIDERS = frozenset({"twilio_voice", "asterisk"})


class NoOutboundPath(Conflict):
    """The conversation's provider cannot carry an agent's reply."""

    code = "no_outbound_path"


def is_call(conversation: Conversation) -> bool:
    """A phone call (rather than a text message conversation on the phone channel)."""
    return conversation.channel == Channel.PHONE and not conversation.conversation_key.startswith(
        SMS_KEY_PREFIX
    )


def require_outbound_path(conversation: Conversation, *, providers: frozenset[str]) -> None:
    """Refuse a reply the conversation's connector cannot deliver, saying why.

    ``providers`` are names or shell-style patterns (``chat-*``, ``*``) of the providers
    whose connectors deliver replies; a live call is never answered with a message.
    """
    provider = conversation.provider
    live_call = provider in LIVE_CALL_PROVIDERS
    if not live_call and any(fnmatch.fnmatchcase(provider, p) for p in providers):
        return
    detail = {"provider": provider}
    if live_call or is_call(conversation):
        raise NoOutboundPath("a call is answered by accepting its offer", detail=detail)
    raise NoOutboundPath(
        f"no outbound path for {provider!r} conversations: replies cannot reach the customer",
        detail=detail,
    )


def reply_meta(last_word: LastWord | None, template: tuple[str, str] | None) -> dict[str, str]:
    """The ``provider_meta`` of a reply: when the customer last wrote (WhatsApp's window) and
    the WhatsApp template (name, language) it names, if any."""
    meta: dict[str, str] = {}
    if last_word is not None:
        meta["customer_last_message_at"] = last_word.at.isoformat()
    if template is not None:
        meta["whatsapp_template"], meta["whatsapp_template_language"] = template
    return meta
