"""Meta Graph API answers (WhatsApp Cloud API, Messenger, Instagram) as delivery outcomes."""

from __future__ import annotations

import httpx

from services.social.outbound.answers import json_of
from shared.outbound import Failed, Outcome, Retry, outcome_of, retry_after_s

__all__ = ["graph_error_outcome"]

#: Graph error codes that pass: application or account call limits (4, 17, 32, 613, 80007),
#: WhatsApp throughput (130429), the pair rate to one customer (131056), a number being
#: upgraded (131057, up to a minute) and WhatsApp's "service unavailable" (131016, 133004).
PASSING_CODES = frozenset({4, 17, 32, 613, 80007, 130429, 131016, 131056, 131057, 133004})


def graph_error_outcome(response: httpx.Response) -> Outcome:
    """What a Graph error answer means: retry limits and passing errors, fail the rest.

    Graph answers most errors, rate limits included, with HTTP 400 and
    ``{"error": {"message", "type", "code", "is_transient"...}}``: the code decides.
    """
    error = json_of(response).get("error")
    if not isinstance(error, dict) or not error.get("message"):
        return outcome_of(response, message_id="")
    reason = str(error["message"])
    status = response.status_code
    if (
        error.get("code") in PASSING_CODES
        or error.get("is_transient") is True
        or status in (408, 429)
        or status >= 500
    ):
        return Retry(reason, retry_after_s(response))
    return Failed(reason)
