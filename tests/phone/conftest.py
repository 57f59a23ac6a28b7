"""A phone connector served for the module, configured with the fixtures' secrets."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from twilio.request_validator import RequestValidator

from services.phone.app import create_app
from tests.support.server import serving

PUBLIC_BASE = "https://example.com"
CDR_TOKEN = "cdr-test-token"


@pytest.fixture(scope="session")
def phone_env(stack_env: None, fixture_secrets: dict[str, str]) -> Iterator[dict[str, str]]:
    env = {
        "PHONE_TWILIO_AUTH_TOKEN": fixture_secrets["twilio_auth_token"],
        "PHONE_GENERIC_SECRET": fixture_secrets["generic_hmac_secret"],
        "PHONE_PUBLIC_BASE_URL": PUBLIC_BASE,
        "PHONE_CDR_TOKEN": CDR_TOKEN,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
async def phone(phone_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app()) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def validator(fixture_secrets: dict[str, str]) -> RequestValidator:
    """The official Twilio validator: the reference our signature check must agree with."""
    return RequestValidator(fixture_secrets["twilio_auth_token"])
