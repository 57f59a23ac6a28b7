"""HMAC helpers for verifying webhook signatures in constant time."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import datetime

from shared.errors import Unauthorized

__all__ = [
    "WEBHOOK_TOLERANCE_S",
    "hmac_sha256_base64",
    "hmac_sha256_hex",
    "require_signature",
    "signatures_match",
    "standard_webhook_headers",
    "switchboard_signature",
    "verify_standard_webhook",
    "webhook_key",
]

#: How far a Standard Webhooks ``webhook-timestamp`` may be from our clock, in seconds.
WEBHOOK_TOLERANCE_S = 300.0
#: Seconds since 1970: ASCII digits only, a few (int() refuses 4,301 digits, isdigit() takes "²").
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
#: A webhook-id: printable ASCII without spaces, bounded.
_WEBHOOK_ID = re.compile(r"[!-~]{1,256}")
#: Signatures of one request looked at: a sender rotating keys sends two or three.
_MAX_SIGNATURES = 10


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


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: ``whsec_<base64>`` decoded, else the
    secret's own UTF-8 bytes (a secret written without the prefix).

    Raises ``ValueError`` when the part after ``whsec_`` is not base64.
    """
    if not secret.startswith("whsec_"):
        return secret.encode()
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        raise ValueError("a whsec_ secret must be followed by base64") from None


def _standard_signature(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
    return hmac_sha256_base64(key, f"{msg_id}.{timestamp}.".encode() + body)


def standard_webhook_headers(
    secret: str | bytes, msg_id: str, body: bytes, at: datetime
) -> dict[str, str]:
    """The headers that sign ``body`` as Standard Webhooks do, for a request we send.

    ``webhook-id`` is ``msg_id`` (the same on every retry, so the receiver can drop
    repeats), ``webhook-timestamp`` the Unix seconds of ``at``, and ``webhook-signature``
    ``v1,`` followed by the base64 HMAC-SHA256 of ``"{id}.{timestamp}.{body}"``.
    """
    timestamp = str(int(at.timestamp()))
    key = webhook_key(secret) if isinstance(secret, str) else secret
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + _standard_signature(key, msg_id, timestamp, body),
    }


def verify_standard_webhook(
    keys: Mapping[str, bytes],
    *,
    body: bytes,
    msg_id: str | None,
    timestamp: str | None,
    signatures: str | None,
    now: datetime,
    tolerance_s: float = WEBHOOK_TOLERANCE_S,
) -> str:
    """The name of the key in ``keys`` that signed a request the Standard Webhooks way.

    ``webhook-signature`` holds space-separated ``v1,<base64 HMAC-SHA256 of
    "{webhook-id}.{webhook-timestamp}.{body}">`` (other versions are skipped), and
    ``webhook-timestamp`` must be within ``tolerance_s`` of ``now``, so a captured request
    cannot be replayed later. Raises :class:`~shared.errors.Unauthorized` (401) otherwise.
    """
    if msg_id is None or not _WEBHOOK_ID.fullmatch(msg_id):
        raise Unauthorized("webhook-id is missing or malformed")
    if timestamp is None or not _TIMESTAMP.fullmatch(timestamp):
        raise Unauthorized("webhook-timestamp is missing or not a Unix time")
    if abs(now.timestamp() - int(timestamp)) > tolerance_s:
        raise Unauthorized("webhook-timestamp is too old or too new: a replay?")
    given = [
        value
        for version, _, value in (
            s.partition(",") for s in (signatures or "").split()[:_MAX_SIGNATURES]
        )
        if version == "v1"
    ]
    for name, key in keys.items():
        expected = _standard_signature(key, msg_id, timestamp, body)
        if any(signatures_match(expected, value) for value in given):
            return name
    raise Unauthorized("webhook-signature is missing or does not match the request")


def require_signature(expected: str, given: str | None, *, header: str) -> None:
    """Raise :class:`~shared.errors.Unauthorized` (401) unless ``given``, the value of the
    request's ``header``, equals ``expected``; compared in constant time."""
    if not signatures_match(expected, given):
        raise Unauthorized(f"{header} is missing or does not match the body")
