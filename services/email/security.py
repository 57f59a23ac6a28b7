"""Verifying who posted: Mailgun's signature, basic auth, bearer tokens."""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime

from services.email.forms import Form
from shared.errors import Unauthorized
from shared.signatures import hmac_sha256_hex, signatures_match

__all__ = ["verify_basic_auth", "verify_bearer", "verify_mailgun_signature"]


def verify_mailgun_signature(
    form: Form, *, signing_key: str, now: datetime, tolerance_s: float
) -> tuple[str, datetime]:
    """Check HMAC-SHA256(key, timestamp + token) and the timestamp's age; return token and time."""
    timestamp = form.text("timestamp") or ""
    token = form.text("token") or ""
    signature = form.text("signature")
    if not timestamp or not token or not signature:
        raise Unauthorized("timestamp, token and signature fields are required")
    expected = hmac_sha256_hex(signing_key, (timestamp + token).encode())
    if not signatures_match(expected, signature.strip().lower()):
        raise Unauthorized("the Mailgun signature does not match")
    try:
        signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise Unauthorized("the Mailgun timestamp is not a Unix time") from None
    if abs((now - signed_at).total_seconds()) > tolerance_s:
        raise Unauthorized(
            "the Mailgun timestamp is too old or in the future",
            detail={"tolerance_seconds": tolerance_s},
        )
    if len(token) > 128:
        raise Unauthorized("the Mailgun token is too long")
    return token, signed_at


def verify_basic_auth(authorization: str | None, *, username: str, password: str) -> None:
    """HTTP basic auth, compared in constant time; 401 when missing or wrong."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized("basic authentication is required")
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise Unauthorized("the basic authentication header is malformed") from None
    expected = f"{username}:{password}".encode()
    if not hmac.compare_digest(given, expected):
        raise Unauthorized("wrong user name or password")


def verify_bearer(authorization: str | None, *, token: str) -> None:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not signatures_match(token, given.strip() or None):
        raise Unauthorized("a valid bearer token is required")
