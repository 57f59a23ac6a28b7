"""What Twilio's REST API answers, as a delivery outcome."""

from __future__ import annotations

import httpx

from shared.outbound import Failed, Outcome, Retry, Sent, outcome_of, retry_after_s

__all__ = ["twilio_outcome"]


def twilio_outcome(response: httpx.Response) -> Outcome:
    """2xx is sent with the resource's ``sid``; Twilio's errors carry a code and a message.

    429 (Twilio error 20429) and 5xx are retried, honouring ``Retry-After``; any other
    error is final, in Twilio's own words.
    """
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        answer = {}
    if 200 <= response.status_code < 300:
        return Sent(str(answer.get("sid") or ""))
    reason = _reason(answer)
    if response.status_code == 429:
        return Retry(reason or "twilio: too many requests", retry_after_s(response))
    outcome = outcome_of(response, message_id="")
    if isinstance(outcome, Failed) and reason:
        return Failed(reason)
    return outcome


def _reason(answer: dict[str, object]) -> str | None:
    message, code = answer.get("message"), answer.get("code")
    if not isinstance(message, str) or not message:
        return None
    return f"{message} (Twilio error {code})" if code else message
