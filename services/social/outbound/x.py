"""Replies to X direct messages: ``POST /2/dm_conversations/with/{participant_id}/messages``."""

from __future__ import annotations

import time

import httpx

from services.social.outbound.answers import json_of
from services.social.settings import SocialSettings
from shared.events import InteractionEvent
from shared.outbound import Failed, Outcome, Retry, Sent, not_configured, outcome_of, retry_after_s

__all__ = ["XTransport"]

PROVIDER = "x"

#: The endpoint allows 200 requests per 15 minutes per user (our account).
ACCOUNT_PER_SECOND = 200 / 900


def our_account(event: InteractionEvent) -> str | None:
    """Our user id in a DM conversation ``x:{low}-{high}``: the id that is not the customer's.

    None for the other X conversations (mentions, likes... kept per kind): not DMs.
    """
    _, _, pair = event.conversation_key.partition(":")
    ids = pair.split("-")
    if len(ids) != 2 or event.customer.id not in ids or ":" in pair:
        return None
    first, second = ids
    return second if first == event.customer.id else first


class XTransport:
    """Sends a reply as a one-to-one direct message to the customer."""

    name = PROVIDER

    def __init__(self, settings: SocialSettings) -> None:
        self._url = settings.x_api_url.rstrip("/")
        self._token = settings.x_bearer_token.get_secret_value()

    def serves(self, event: InteractionEvent) -> bool:
        return event.provider == PROVIDER

    def limits(self, event: InteractionEvent) -> list[tuple[str, float]]:
        account = our_account(event)
        return [(f"x:{account}", ACCOUNT_PER_SECOND)] if account else []

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        if not self._token:
            return not_configured("SOCIAL_X_BEARER_TOKEN")
        if our_account(event) is None:
            return Failed(f"x: {event.conversation_key} is not a direct-message conversation")
        response = await client.post(
            f"{self._url}/2/dm_conversations/with/{event.customer.id}/messages",
            headers={"Authorization": f"Bearer {self._token}"},
            json={"text": event.content.text if event.content else ""},
        )
        answer = json_of(response)
        data = answer.get("data")
        if response.is_success and isinstance(data, dict) and data.get("dm_event_id"):
            return Sent(str(data["dm_event_id"]))
        if response.status_code == 429:
            return Retry("x: rate limited", max(retry_after_s(response), _until_reset(response)))
        outcome = outcome_of(response, message_id="")
        reason = _problem(answer)
        if isinstance(outcome, Failed) and reason:
            return Failed(reason)
        return outcome


def _until_reset(response: httpx.Response) -> float:
    """Seconds until ``x-rate-limit-reset`` (epoch seconds), X's way of saying when."""
    reset = response.headers.get("x-rate-limit-reset", "")
    return max(0.0, float(reset) - time.time()) if reset.isdigit() else 0.0


def _problem(answer: dict[str, object]) -> str | None:
    """X's own words: a problem's ``detail`` (or ``title``), or the first error's message."""
    for field in ("detail", "title"):
        if isinstance(answer.get(field), str) and answer[field]:
            return str(answer[field])
    errors = answer.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        message = errors[0].get("message") or errors[0].get("detail")
        return str(message) if message else None
    return None
