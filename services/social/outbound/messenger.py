"""Replies to Messenger and Instagram direct messages: Graph's Send API (``/me/messages``)."""

from __future__ import annotations

import httpx

from services.social.outbound.answers import json_of
from services.social.outbound.graph import graph_error_outcome
from services.social.settings import SocialSettings
from shared.events import InteractionEvent
from shared.outbound import Failed, Outcome, Sent, not_configured

__all__ = ["MessengerTransport"]

PROVIDERS = ("messenger", "instagram")


def account_and_user(conversation_key: str) -> tuple[str, str] | None:
    """Our page or account id and the customer's scoped id of ``{provider}:{account}:{user}``.

    None for comment threads (``{provider}:{account}:{field}:{thread}``): a direct message
    cannot answer them.
    """
    parts = conversation_key.split(":")
    if len(parts) != 3 or not all(parts[1:]):
        return None
    return parts[1], parts[2]


class MessengerTransport:
    """Sends a reply to the customer's scoped id as a RESPONSE within the messaging window."""

    name = "messenger"

    def __init__(self, settings: SocialSettings) -> None:
        self._url = settings.meta_graph_url.rstrip("/") + "/me/messages"
        self._token = settings.meta_page_token.get_secret_value()

    def serves(self, event: InteractionEvent) -> bool:
        return event.provider in PROVIDERS

    def limits(self, event: InteractionEvent) -> list[tuple[str, float]]:
        # Meta's Send API limits are per page per day (by audience size): its errors say so.
        return []

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        if not self._token:
            return not_configured("SOCIAL_META_PAGE_TOKEN")
        pair = account_and_user(event.conversation_key)
        if pair is None:
            return Failed(
                f"{event.provider}: {event.conversation_key} is a comment thread, "
                "which a direct message cannot answer"
            )
        _, user = pair
        # Graph takes the page token as a bearer token too: kept out of the URL, it stays
        # out of every log line that prints one.
        response = await client.post(
            self._url,
            headers={"Authorization": f"Bearer {self._token}"},
            json={
                "recipient": {"id": user},
                "messaging_type": "RESPONSE",
                "message": {"text": event.content.text if event.content else ""},
            },
        )
        if response.is_success and (message_id := json_of(response).get("message_id")):
            return Sent(str(message_id))
        return graph_error_outcome(response)
