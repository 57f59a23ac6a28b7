"""HMAC helpers for verifying webhook signatures in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from shared.errors import Unauthorized

__all__ = [
    "hmac_sha256_base64",
    "hmac_sha256_hex",
    "require_signature",
    "signatures_match",
    "standard_webhook_headers",
    "switchboard_signature",
]


def hmac_sha256_hex(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def hmac_sha256_base64(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def signatures_match(expected: str, given: str | None) -> bool:
    """Compare without leaking timing; a missing signature never matches."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


def switchboard_signature(secret: str | bytes, body: bytes) -> str:
    """Our own webhooks' ``X-Switchboard-Signature``: ``sha256=<hex HMAC-SHA256(secret, body)>``."""
    return "sha256=" + hmac_sha256_hex(secret, body)


def standard_webhook_headers(
    secret: str | bytes, msg_id: str, body: bytes, at: datetime
) -> dict[str, str]:
    """The headers that sign ``body`` as Standard Webhooks do, for a request we send.

    ``webhook-id`` is ``msg_id`` (the same on every retry, so the receiver can drop
    repeats), ``webhook-timestamp`` the Unix seconds of ``at``, and ``webhook-signature``
    ``v1,`` followed by the base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``.
    """
    timestamp = str(int(at.timestamp()))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + hmac_sha256_base64(secret, signed),
    }


def require_signature(expected: str, given: str | None, *, header: str) -> None:
    """Raise :class:`~shared.errors.Unauthorized` (401) unless ``given``, the value of the
    request's ``header``, equals ``expected``; compared in constant time."""
    if not signatures_match(expected, given):
        raise Unauthorized(f"{header} is missing or does not match the body")
