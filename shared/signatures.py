"""HMAC helpers for verifying webhook signatures in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["hmac_sha256_base64", "hmac_sha256_hex", "signatures_match"]


def hmac_sha256_hex(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def hmac_sha256_base64(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def signatures_match(expected: str, given: str | None) -> bool:
    """Compare without leaking timing; a missing signature never matches."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
