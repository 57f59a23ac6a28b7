"""Who is calling: bearer tokens, their hashes, roles, and signed survey tokens.

Tokens are random (256 bits, URL-safe); services keep only their SHA-256. Admin tokens
come from settings and may hold several comma-separated values, so a rotation adds the
new token, redeploys, then removes the old one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from shared.errors import Forbidden, Unauthorized
from shared.events.access import Role

__all__ = [
    "BearerToken",
    "OptionalBearerToken",
    "Principal",
    "SurveyGrant",
    "bearer_token",
    "is_admin_token",
    "new_token",
    "survey_token",
    "token_sha256",
    "verify_survey_token",
]


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a request's token."""

    role: Role
    agent_id: uuid.UUID | None = None

    def require(self, *roles: Role) -> Principal:
        """Raise 403 unless the principal holds one of ``roles``."""
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs one of the roles {allowed}; the token is {self.role}")
        return self


def new_token() -> str:
    """A fresh bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    """What is stored (and published) of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header (401 without one)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return token.strip()


#: The OpenAPI security scheme of every token-protected endpoint; a missing or non-bearer
#: header is refused by :func:`bearer` with our own 401 body.
_BEARER = HTTPBearer(auto_error=False, description="A token: admin, agent, supervisor or machine.")


async def optional_bearer(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
) -> str | None:
    """The request's bearer token, or None without one."""
    if credentials is None or not credentials.credentials.strip():
        return None
    return credentials.credentials.strip()


async def bearer(token: Annotated[str | None, Depends(optional_bearer)]) -> str:
    """The request's bearer token (401 without one)."""
    if token is None:
        raise Unauthorized("send Authorization: Bearer <token>")
    return token


#: An endpoint's bearer token, shown in the OpenAPI document as a security scheme.
BearerToken = Annotated[str, Depends(bearer)]
#: The same, where another credential (a session cookie) may stand in for it.
OptionalBearerToken = Annotated[str | None, Depends(optional_bearer)]


def is_admin_token(configured: SecretStr, token: str) -> bool:
    """Whether ``token`` is one of the comma-separated admin tokens, compared in constant time."""
    given = token.encode()
    found = False
    for candidate in configured.get_secret_value().split(","):
        candidate = candidate.strip()
        # Every candidate is compared, so the time does not say which one matched.
        if candidate and hmac.compare_digest(candidate.encode(), given):
            found = True
    return found


# Survey tokens ---------------------------------------------------------------------------

#: Bound into every survey signature, so the key never signs anything but a survey grant.
_SURVEY_CONTEXT = b"switchboard survey v1\n"


@dataclass(frozen=True, slots=True)
class SurveyGrant:
    """What a survey token lets its holder do: answer ``kind`` for one conversation."""

    conversation_key: str
    channel: str
    kind: str
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def survey_token(secret: SecretStr, grant: SurveyGrant) -> str:
    """``<payload>.<signature>``: the grant in base64url, then its HMAC-SHA256."""
    expires = int(grant.expires_at.timestamp())
    payload = f"{grant.kind}\n{grant.channel}\n{expires}\n{grant.conversation_key}".encode()
    key = secret.get_secret_value().encode()
    signature = hmac.new(key, _SURVEY_CONTEXT + payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(signature)}"


def verify_survey_token(secret: SecretStr, token: str, *, now: datetime) -> SurveyGrant:
    """The grant a survey token carries; 401 when it is forged, malformed or expired."""
    encoded, _, given = token.partition(".")
    try:
        payload, signature = _unb64(encoded), _unb64(given)
    except ValueError:
        raise Unauthorized("the survey token is malformed") from None
    key = secret.get_secret_value().encode()
    expected = hmac.new(key, _SURVEY_CONTEXT + payload, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise Unauthorized("the survey token is not valid")
    try:
        kind, channel, expires, conversation_key = payload.decode().split("\n", 3)
        expires_at = datetime.fromtimestamp(int(expires), UTC)
    except ValueError:
        raise Unauthorized("the survey token is malformed") from None
    if expires_at <= now:
        raise Unauthorized("the survey token has expired")
    return SurveyGrant(conversation_key, channel, kind, expires_at)
