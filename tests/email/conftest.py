"""A running email connector for the email tests, with the fixtures' secrets."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.email.app import create_app
from tests.email.support import settings_for
from tests.support.server import serving


@pytest.fixture(scope="module")
async def email_client(
    stack_env: None, fixture_secrets: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the connector with the default clock tolerance (300 s)."""
    async with (
        serving(create_app(settings_for(fixture_secrets))) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client
