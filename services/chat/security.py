"""Proof of who is calling: the webhooks' signatures and the website visitor's token.

The webhook checks are dependencies: an endpoint receives the raw body only once its
signature holds. A body is read once, up to the size limit, before its signature is
computed, so an oversized one gets 413 whatever it claims.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from services.chat.deps import SettingsDep
from services.chat.settings import ChatSettings
from shared.clock import utc_now
from shared.errors import NotFound, Unauthorized
from shared.security import GenericDelivery, generic_webhook
from shared.service import read_body
from shared.signatures import (
    hmac_sha256_hex,
    signatures_match,
)

#: Seconds since 1970, as Slack sends them.
SLACK_TIMESTAMP = re.compile(r"[0-9]{1,12}")


async def slack_signed_body(
    request: Request,
    settings: SettingsDep,
    x_slack_request_timestamp: Annotated[str | None, Header()] = None,
    x_slack_signature: Annotated[str | None, Header()] = None,
) -> bytes:
    """``X-Slack-Signature`` = ``v0=`` hex HMAC-SHA256 of ``v0:{timestamp}:{body}``, recent."""
    body = await read_body(request, settings.max_body_bytes)
    timestamp = x_slack_request_timestamp
    # ASCII digits only, a few: str.isdigit() takes "²", and int() refuses 4,301 digits.
    if timestamp is None or not SLACK_TIMESTAMP.fullmatch(timestamp):
        raise Unauthorized("X-Slack-Request-Timestamp is missing or not a Unix time")
    if abs(utc_now().timestamp() - int(timestamp)) > settings.slack_tolerance_s:
        raise Unauthorized("X-Slack-Request-Timestamp is too old: a replay?")
    secret = settings.slack_signing_secret.get_secret_value()
    expected = "v0=" + hmac_sha256_hex(secret, b"v0:" + timestamp.encode() + b":" + body)
    if not signatures_match(expected, x_slack_signature):
        raise Unauthorized("X-Slack-Signature is missing or does not match the body")
    return body


#: A generic webhook request whose signature held (401 otherwise).
GenericWebhook = Annotated[GenericDelivery, Depends(generic_webhook(ChatSettings))]
SlackBody = Annotated[bytes, Depends(slack_signed_body)]


def session_token(authorization: str | None) -> str:
    """The token of ``Authorization: Bearer <token>``; 404 without one, as for a wrong one."""
    # Called by the endpoints rather than declared as a dependency: a dependency runs before
    # FastAPI validates the query, and a bad `after` must keep answering 422 first.
    if not authorization or not authorization.startswith("Bearer "):
        raise NotFound("no chat session has this token")
    return authorization.removeprefix("Bearer ")
