"""Pseudonyms: what an erased value becomes, the same one every time for the same value."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

__all__ = ["PSEUDONYM_PREFIX", "is_pseudonym", "pseudonym"]

#: Every pseudonym starts with it, so a reader (and a second erasure) knows one when it sees it.
PSEUDONYM_PREFIX = "erased:"


def pseudonym(secret: SecretStr, value: str) -> str:
    """``erased:`` and 32 hex digits of HMAC-SHA256(secret, value).

    Keyed, so nobody without the deployment's secret can test a guessed address or number
    against it; deterministic, so a customer erased twice, or a conversation key erased by
    two services, maps to the same pseudonym and counts still group. A value that already
    is a pseudonym is returned as it is.
    """
    if is_pseudonym(value):
        return value
    digest = hmac.new(secret.get_secret_value().encode(), value.encode(), hashlib.sha256)
    return PSEUDONYM_PREFIX + digest.hexdigest()[:32]


def is_pseudonym(value: str) -> bool:
    """True for a value :func:`pseudonym` produced."""
    return value.startswith(PSEUDONYM_PREFIX)
