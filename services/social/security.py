"""Proof that a delivery comes from its platform, and that we hold the secrets it knows.

The webhook checks are dependencies: an endpoint receives the raw body only once its
signature (or Telegram's secret token) holds. A body is read once, up to the size limit,
before its signature is computed, so an oversized one gets 413 whatever it claims.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from services.social.deps import SettingsDep
from services.social.settings import SocialSettings
from shared.errors import BadRequest, Forbidden, Unauthorized
from shared.service import read_body
from shared.signatures import (
    hmac_sha256_base64,
    hmac_sha256_hex,
    require_signature,
    signatures_match,
)


async def meta_signed_body(
    request: Request,
    settings: SettingsDep,
    x_hub_signature_256: Annotated[str | None, Header()] = None,
) -> bytes:
    """``X-Hub-Signature-256`` must be ``sha256=<hex HMAC-SHA256(app secret, raw body)>``."""
    body = await read_body(request, settings.max_body_bytes)
    expected = "sha256=" + hmac_sha256_hex(settings.meta_app_secret.get_secret_value(), body)
    require_signature(expected, x_hub_signature_256, header="X-Hub-Signature-256")
    return body


async def x_signed_body(
    request: Request,
    settings: SettingsDep,
    x_twitter_webhooks_signature: Annotated[str | None, Header()] = None,
) -> bytes:
    """``x-twitter-webhooks-signature`` must be ``sha256=<base64 HMAC-SHA256(secret, body)>``."""
    body = await read_body(request, settings.max_body_bytes)
    expected = "sha256=" + hmac_sha256_base64(settings.x_consumer_secret.get_secret_value(), body)
    require_signature(expected, x_twitter_webhooks_signature, header="x-twitter-webhooks-signature")
    return body


async def telegram_body(
    request: Request,
    settings: SettingsDep,
    x_telegram_bot_api_secret_token: Annotated[str | None, Header()] = None,
) -> bytes:
    """Telegram echoes the ``secret_token`` given to setWebhook in a header; no body signature."""
    token = settings.telegram_secret_token.get_secret_value()
    if not signatures_match(token, x_telegram_bot_api_secret_token):
        raise Unauthorized("X-Telegram-Bot-Api-Secret-Token is missing or does not match")
    return await read_body(request, settings.max_body_bytes)


MetaBody = Annotated[bytes, Depends(meta_signed_body)]
XBody = Annotated[bytes, Depends(x_signed_body)]
TelegramBody = Annotated[bytes, Depends(telegram_body)]


def meta_challenge(
    *, settings: SocialSettings, mode: str | None, verify_token: str | None, challenge: str | None
) -> str:
    """The challenge to echo when Meta's subscription handshake names our verify token."""
    missing = [
        name
        for name, value in (
            ("hub.mode", mode),
            ("hub.verify_token", verify_token),
            ("hub.challenge", challenge),
        )
        if not value
    ]
    if missing:
        raise BadRequest(
            "verification request is incomplete",
            detail=[{"field": name, "problem": "missing"} for name in missing],
        )
    if mode != "subscribe":
        raise BadRequest(
            "verification request is invalid",
            detail=[{"field": "hub.mode", "problem": f"must be 'subscribe'; got {mode!r}"}],
        )
    if not signatures_match(settings.meta_verify_token.get_secret_value(), verify_token):
        raise Forbidden("hub.verify_token does not match")
    assert challenge is not None
    return challenge


#: What X sends as ``crc_token``: a short URL-safe string. The answer is the HMAC of the token
#: under the consumer secret, which is also how X signs a delivery's body: answering any token
#: would sign whatever body an attacker passes as one. No JSON body fits this alphabet.
X_CRC_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{1,255}")


def x_crc_response(*, settings: SocialSettings, crc_token: str | None) -> str:
    """The ``response_token`` proving to X that we hold the consumer secret."""
    if not crc_token:
        raise BadRequest(
            "CRC request is incomplete", detail=[{"field": "crc_token", "problem": "missing"}]
        )
    if X_CRC_TOKEN.fullmatch(crc_token) is None:
        raise BadRequest(
            "crc_token is not a token X sends",
            detail=[{"field": "crc_token", "problem": "not a token X sends"}],
        )
    secret = settings.x_consumer_secret.get_secret_value()
    return "sha256=" + hmac_sha256_base64(secret, crc_token.encode())
