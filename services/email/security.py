"""Who may post, checked as endpoint dependencies: Mailgun signatures, basic auth, bearer."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Request

from services.email.deps import SettingsDep
from services.email.forms import Form, parse_form, peek_fields
from services.email.service import MailgunToken
from shared.clock import utc_now
from shared.errors import Unauthorized
from shared.service import read_body
from shared.signatures import hmac_sha256_hex, signatures_match

__all__ = [
    "MailgunPost",
    "VerifiedMailgunPost",
    "mime_bearer",
    "postmark_basic_auth",
    "sendgrid_basic_auth",
]

Authorization = Annotated[str | None, Header()]


@dataclass(frozen=True)
class MailgunPost:
    """A Mailgun POST whose signature checked out: its form, and the token it spends."""

    form: Form
    token: MailgunToken


_SIGNATURE_FIELDS = frozenset({"timestamp", "token", "signature"})


async def verified_mailgun_post(request: Request, settings: SettingsDep) -> MailgunPost:
    # Mailgun signs inside the form. Anyone can post one, so only the three signature
    # fields are read before the signature is checked; the whole form is parsed after,
    # in a thread, so a large one does not hold up other requests.
    body = await read_body(request, settings.max_body_bytes)
    content_type = request.headers.get("content-type")
    signed = peek_fields(content_type, body, _SIGNATURE_FIELDS, max_fields=settings.max_form_fields)
    token, signed_at = _mailgun_signature(
        Form(fields=signed),
        signing_key=settings.mailgun_signing_key.get_secret_value(),
        now=utc_now(),
        tolerance_s=settings.mailgun_timestamp_tolerance_s,
    )
    form = await asyncio.to_thread(parse_form, content_type, body, settings.max_form_fields)
    return MailgunPost(
        form=form,
        token=MailgunToken(
            token=token,
            signed_at=signed_at,
            tolerance_s=settings.mailgun_timestamp_tolerance_s,
            form_sha256=form.digest(),
        ),
    )


#: A Mailgun POST, read (413), verified (401) and parsed (400) before the endpoint runs.
VerifiedMailgunPost = Annotated[MailgunPost, Depends(verified_mailgun_post)]


def _mailgun_signature(
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


async def sendgrid_basic_auth(settings: SettingsDep, authorization: Authorization = None) -> None:
    """SendGrid Inbound Parse's ``user:pass@`` credentials."""
    _basic_auth(
        authorization,
        username=settings.sendgrid_username,
        password=settings.sendgrid_password.get_secret_value(),
    )


async def postmark_basic_auth(settings: SettingsDep, authorization: Authorization = None) -> None:
    """The Postmark inbound webhook URL's credentials."""
    _basic_auth(
        authorization,
        username=settings.postmark_username,
        password=settings.postmark_password.get_secret_value(),
    )


async def mime_bearer(settings: SettingsDep, authorization: Authorization = None) -> None:
    """``Authorization: Bearer <EMAIL_MIME_TOKEN>``, compared in constant time."""
    token = settings.mime_token.get_secret_value()
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not signatures_match(token, given.strip() or None):
        raise Unauthorized("a valid bearer token is required")


def _basic_auth(authorization: str | None, *, username: str, password: str) -> None:
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
