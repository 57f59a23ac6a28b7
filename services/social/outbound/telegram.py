"""Replies to Telegram chats: the Bot API's ``sendMessage``.

The bot token is part of the URL path, so no URL of these requests may reach a log or a
reason: errors are reported by their type and Telegram's description, and httpx's request
log lines have the token masked.
"""

from __future__ import annotations

import logging
import re

import httpx

from services.social.outbound.answers import json_of
from services.social.settings import SocialSettings
from shared.events import InteractionEvent
from shared.outbound import Failed, Outcome, Retry, Sent, not_configured, outcome_of

__all__ = ["TelegramTransport"]

PROVIDER = "telegram"

#: Telegram's broadcast limit per bot, and its limit per chat.
BOT_PER_SECOND = 30.0
CHAT_PER_SECOND = 1.0

_BOT_PATH = re.compile(r"/bot[^/\s]+/")


def redacted(text: str) -> str:
    """``text`` with any ``/bot<token>/`` path masked."""
    return _BOT_PATH.sub("/bot<redacted>/", text)


class _MaskBotToken(logging.Filter):
    """Masks the token in httpx's "HTTP Request: POST <url>" lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redacted(str(a)) if "/bot" in str(a) else a for a in record.args)
        return True


_MASK = _MaskBotToken()


def chat_of(conversation_key: str) -> str:
    """The chat id of ``telegram:{chat_id}``."""
    return conversation_key.partition(":")[2]


def reply_to(event: InteractionEvent, chat_id: str) -> int | None:
    """The message id the reply answers, when it is a message of this chat (``{chat}:{id}``)."""
    in_reply_to = event.content.in_reply_to if event.content else None
    if not in_reply_to:
        return None
    chat, _, message_id = in_reply_to.rpartition(":")
    return int(message_id) if chat == chat_id and message_id.isdigit() else None


class TelegramTransport:
    """Sends a reply to its chat, as an answer to the customer's message when there is one."""

    name = PROVIDER

    def __init__(self, settings: SocialSettings) -> None:
        self._token = settings.telegram_bot_token.get_secret_value()
        self._url = f"{settings.telegram_api_url.rstrip('/')}/bot{self._token}/sendMessage"
        # Added once (the same filter), however many connectors a process builds.
        logging.getLogger("httpx").addFilter(_MASK)

    def serves(self, event: InteractionEvent) -> bool:
        return event.provider == PROVIDER

    def limits(self, event: InteractionEvent) -> list[tuple[str, float]]:
        return [
            ("telegram:bot", BOT_PER_SECOND),
            (f"telegram:{chat_of(event.conversation_key)}", CHAT_PER_SECOND),
        ]

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        if not self._token:
            return not_configured("SOCIAL_TELEGRAM_BOT_TOKEN")
        chat_id = chat_of(event.conversation_key)
        if not chat_id or ":" in chat_id:
            return Failed(f"telegram: {event.conversation_key} is not a chat")
        body: dict[str, object] = {
            "chat_id": chat_id,
            "text": event.content.text if event.content else "",
        }
        if (message_id := reply_to(event, chat_id)) is not None:
            body["reply_parameters"] = {"message_id": message_id}
        try:
            response = await client.post(self._url, json=body)
        except httpx.TransportError as exc:
            return Retry(redacted(f"{type(exc).__name__}: {exc}".strip(": ")))
        answer = json_of(response)
        result = answer.get("result")
        if answer.get("ok") is True and isinstance(result, dict) and "message_id" in result:
            return Sent(str(result["message_id"]))
        parameters = answer.get("parameters")
        if response.status_code == 429 or answer.get("error_code") == 429:
            after = parameters.get("retry_after") if isinstance(parameters, dict) else None
            return Retry("telegram: rate limited", float(after) if isinstance(after, int) else 0.0)
        outcome = outcome_of(response, message_id="")
        description = answer.get("description")
        if isinstance(outcome, Failed) and isinstance(description, str) and description:
            return Failed(description)
        if isinstance(outcome, Sent):
            # ok: false with a 2xx status: Telegram refused it.
            return Failed(str(description or "telegram: ok is false"))
        return outcome
