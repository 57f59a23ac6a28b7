"""Signing Twilio requests the way Twilio does, with the official package."""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from tests.phone.conftest import PUBLIC_BASE


def twilio_request(
    validator: RequestValidator, path: str, params: dict[str, str]
) -> tuple[bytes, dict[str, str]]:
    """A form body and headers signed by the official validator for ``PUBLIC_BASE + path``."""
    body = urlencode(params).encode()
    signature = validator.compute_signature(PUBLIC_BASE + path, params)
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
    }
