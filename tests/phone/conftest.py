"""A phone connector served for the module, configured with the fixtures' secrets."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from twilio.request_validator import RequestValidator

from services.phone.app import create_app
from tests.support.emulator import ProviderEmulator, running_emulator
from tests.support.groups import own_groups
from tests.support.server import serving

PUBLIC_BASE = "https://example.com"
CDR_TOKEN = "cdr-test-token"
ACCOUNT_SID = "AC00000000000000000000000000000001"
FROM_NUMBER = "+15005550006"
GENERIC_OUTBOUND_PATH = "/calls/replies"
GENERIC_OUTBOUND_SECRET = "phone-outbound-secret"
GLOBEX_SECRET = "globex-phone-secret-0123"


# Package scope: one connector for every phone test, stopped when they end, so it takes no
# accepted call or reply of the connectors later tests start on the same database.
@pytest.fixture(scope="package")
async def emulator() -> AsyncIterator[ProviderEmulator]:
    """Twilio and the generic call source's outbound URL, for the session's one connector."""
    async with running_emulator() as running:
        yield running


@pytest.fixture(scope="package")
def phone_env(
    stack_env: None, fixture_secrets: dict[str, str], emulator: ProviderEmulator
) -> Iterator[dict[str, str]]:
    env = {
        **own_groups("phone"),
        "PHONE_TWILIO_AUTH_TOKEN": fixture_secrets["twilio_auth_token"],
        "PHONE_GENERIC_SECRET": fixture_secrets["generic_hmac_secret"],
        # A second partner with a source of its own, and Standard Webhooks signatures only.
        "PHONE_GENERIC_SOURCES": json.dumps(
            {"globex": {"secret": GLOBEX_SECRET, "sources": ["globex_pbx"]}}
        ),
        "PHONE_GENERIC_LEGACY_SIGNATURE": "false",
        "PHONE_PUBLIC_BASE_URL": PUBLIC_BASE,
        "PHONE_CDR_TOKEN": CDR_TOKEN,
        "PHONE_TWILIO_API_URL": emulator.url,
        "PHONE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "PHONE_TWILIO_FROM_NUMBER": FROM_NUMBER,
        "PHONE_GENERIC_OUTBOUND_URL": emulator.url + GENERIC_OUTBOUND_PATH,
        "PHONE_GENERIC_OUTBOUND_SECRET": GENERIC_OUTBOUND_SECRET,
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


@pytest.fixture(scope="package")
async def phone(phone_env: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_app()) as url, httpx.AsyncClient(base_url=url, timeout=60) as client:
        yield client


@pytest.fixture(scope="package")
def validator(fixture_secrets: dict[str, str]) -> RequestValidator:
    """The official Twilio validator: the reference our signature check must agree with."""
    return RequestValidator(fixture_secrets["twilio_auth_token"])
