"""Replies to generic sources: a POST to the operator's URL, signed as Standard Webhooks sign
them (``webhook-id``, ``webhook-timestamp``, ``webhook-signature``), so any tool can take them."""

from __future__ import annotations

import json
from collections.abc import Collection

import httpx
from pydantic import SecretStr

from shared.clock import utc_now
from shared.events import Channel, InteractionEvent
from shared.outbound.transport import Outcome, not_configured, outcome_of
from shared.signatures import standard_webhook_headers

__all__ = ["SignedWebhookTransport"]


class SignedWebhookTransport:
    """Posts each reply of ``channel`` to ``url``, for the providers no other transport serves.

    The JSON body names the conversation by the part of its key after the provider, under
    ``id_field`` (``conversation_id`` for chat, ``call_id`` for calls), with the customer, the
    text, the message it answers, the reply id and the agent. The message id is the tool's
    own when its answer gives one (``id`` or ``message_id``), else the webhook id.
    """

    name = "generic"

    def __init__(
        self,
        *,
        url: str,
        secret: SecretStr,
        setting: str,
        channel: Channel,
        not_for: Collection[str],
        id_field: str,
    ) -> None:
        self._url = url
        self._secret = secret.get_secret_value().encode()
        self._setting = setting
        self._channel = channel
        self._not_for = frozenset(not_for)
        self._id_field = id_field

    def serves(self, event: InteractionEvent) -> bool:
        # Generic sources are named by the tool that posts them: any provider but the others.
        return event.channel is self._channel and event.provider not in self._not_for

    def limits(self, event: InteractionEvent) -> list[tuple[str, float]]:
        return []

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        if not self._url:
            return not_configured(self._setting)
        webhook_id = str(event.event_id)
        body = json.dumps(self.body(event), separators=(",", ":")).encode()
        signed = standard_webhook_headers(self._secret, webhook_id, body, utc_now())
        response = await client.post(
            self._url, content=body, headers={"content-type": "application/json", **signed}
        )
        return outcome_of(response, message_id=_message_id(response) or webhook_id)

    def body(self, event: InteractionEvent) -> dict[str, object]:
        """What the tool receives for one reply."""
        _, _, source_id = event.conversation_key.partition(":")
        return {
            "type": "message.sent",
            "source": event.provider,
            self._id_field: source_id,
            "conversation_key": event.conversation_key,
            "customer": event.customer.model_dump(exclude_none=True),
            "text": event.content.text if event.content else "",
            "in_reply_to": event.content.in_reply_to if event.content else None,
            "reply_id": event.raw_ref,
            "agent_id": event.agent_id,
            "sent_at": event.occurred_at.isoformat(),
        }


def _message_id(response: httpx.Response) -> str | None:
    """The tool's own id for the message, when its answer gives one."""
    try:
        answer = response.json()
    except ValueError:
        return None
    if isinstance(answer, dict):
        for field in ("id", "message_id"):
            if isinstance(answer.get(field), str | int) and str(answer[field]):
                return str(answer[field])
    return None
