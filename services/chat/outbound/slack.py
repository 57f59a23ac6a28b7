"""Replies to Slack threads: ``chat.postMessage`` with the bot token."""

from __future__ import annotations

import httpx

from services.chat.settings import ChatSettings
from shared.events import InteractionEvent
from shared.outbound import Failed, Outcome, Retry, Sent, not_configured, outcome_of, retry_after_s

__all__ = ["SlackTransport"]

PROVIDER = "slack"


def channel_and_thread(conversation_key: str) -> tuple[str, str]:
    """The channel and thread ``ts`` of a Slack conversation key (``slack:{channel}:{ts}``)."""
    _, channel, thread = conversation_key.split(":", 2)
    return channel, thread


class SlackTransport:
    """Posts a reply in its conversation's thread; Slack allows about one a second per channel."""

    name = PROVIDER

    def __init__(self, settings: ChatSettings) -> None:
        self._url = settings.slack_api_url.rstrip("/") + "/chat.postMessage"
        self._token = settings.slack_bot_token.get_secret_value()

    def serves(self, event: InteractionEvent) -> bool:
        return event.provider == PROVIDER and event.conversation_key.count(":") >= 2

    def limits(self, event: InteractionEvent) -> list[tuple[str, float]]:
        channel, _ = channel_and_thread(event.conversation_key)
        return [(f"slack:{channel}", 1.0)]

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        if not self._token:
            return not_configured("CHAT_SLACK_BOT_TOKEN")
        channel, thread = channel_and_thread(event.conversation_key)
        response = await client.post(
            self._url,
            headers={"Authorization": f"Bearer {self._token}"},
            json={
                "channel": channel,
                "thread_ts": thread,
                "text": event.content.text if event.content else "",
            },
        )
        if response.status_code == 429:
            return Retry("slack: rate limited", retry_after_s(response))
        if response.status_code != 200:
            return outcome_of(response, message_id="")
        # Slack answers its own errors with 200 and ok: false (channel_not_found, ...).
        answer = response.json()
        if answer.get("ok") and answer.get("ts"):
            return Sent(str(answer["ts"]))
        return Failed(f"slack: {answer.get('error', 'ok is false')}")
