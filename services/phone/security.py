"""Who may post, checked as endpoint dependencies: Twilio's signature, the CDR token, and
the generic call log's HMAC."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections import defaultdict
from typing import Annotated
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from fastapi import Depends, Header, Request

from services.phone.deps import SettingsDep
from services.phone.settings import PhoneSettings
from services.phone.twilio import Form
from shared.errors import Unauthorized
from shared.security import GenericDelivery, generic_webhook
from shared.service import read_body
from shared.signatures import signatures_match

__all__ = [
    "GenericCallLog",
    "TwilioForm",
    "cdr_bearer",
    "twilio_signature",
]


def twilio_signature(url: str, form: Form, auth_token: str) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 of the URL and every parameter sorted by name."""
    values: dict[str, set[str]] = defaultdict(set)
    for name, value in form:
        values[name].add(value)
    payload = url + "".join(
        name + value for name in sorted(values) for value in sorted(values[name])
    )
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _url_variants(url: str) -> list[str]:
    """The URL as given, and with its default port added or removed (Twilio signs either)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is not None:
        other = host if parts.port == default else None
    else:
        other = f"{host}:{default}" if default else None
    variants = [url]
    if other is not None:
        variants.append(urlunsplit(parts._replace(netloc=other)))
    return variants


def _twilio_signature_matches(url: str, form: Form, auth_token: str, given: str | None) -> bool:
    if given is None:
        return False
    return any(
        hmac.compare_digest(twilio_signature(candidate, form, auth_token).encode(), given.encode())
        for candidate in _url_variants(url)
    )


def _signed_url(request: Request, settings: PhoneSettings) -> str:
    # Twilio signs the URL it called; behind a proxy that is the public one, not ours.
    if not settings.public_base_url:
        return str(request.url)
    url = settings.public_base_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    return url


async def verified_twilio_form(
    request: Request,
    settings: SettingsDep,
    x_twilio_signature: Annotated[str | None, Header()] = None,
) -> list[tuple[str, str]]:
    body = await read_body(request, settings.max_body_bytes)
    try:
        form = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        form = None
    token = settings.twilio_auth_token.get_secret_value()
    if form is None or not _twilio_signature_matches(
        _signed_url(request, settings), form, token, x_twilio_signature
    ):
        raise Unauthorized("X-Twilio-Signature is missing or does not match the request")
    return form


#: The form parameters of a Twilio request whose signature checked out (401 otherwise).
TwilioForm = Annotated[list[tuple[str, str]], Depends(verified_twilio_form)]


async def cdr_bearer(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """``Authorization: Bearer <PHONE_CDR_TOKEN>``, compared in constant time."""
    expected = "Bearer " + settings.cdr_token.get_secret_value()
    if not signatures_match(expected, authorization):
        raise Unauthorized("Authorization must be 'Bearer <PHONE_CDR_TOKEN>'")


#: A generic call log whose signature checked out (401 otherwise).
GenericCallLog = Annotated[GenericDelivery, Depends(generic_webhook(PhoneSettings))]
