"""The social connector on a real port, with the fixture secrets, against the test broker."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI

# The shared assertions of these tests live in a helper module: show their diffs too.
pytest.register_assert_rewrite("tests.social.support")

from services.social.app import create_app  # noqa: E402
from tests.social.support import wait_until_ready  # noqa: E402
from tests.support.groups import own_groups  # noqa: E402
from tests.support.server import serving  # noqa: E402


@contextmanager
def environment(**variables: str) -> Iterator[None]:
    """Set environment variables for an app being built, and restore them after."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def social_env(secrets: dict[str, str]) -> dict[str, str]:
    return {
        "SOCIAL_META_APP_SECRET": secrets["meta_app_secret"],
        "SOCIAL_META_VERIFY_TOKEN": secrets["meta_verify_token"],
        "SOCIAL_X_CONSUMER_SECRET": secrets["x_consumer_secret"],
        "SOCIAL_TELEGRAM_SECRET_TOKEN": secrets["telegram_secret_token"],
    }


def social_app(secrets: dict[str, str], **variables: str) -> FastAPI:
    """A social connector with the fixture secrets and ``variables``, on consumer groups of
    its own (a group shared with apps that already stopped waits for their sessions
    to time out on the embedded broker)."""
    with environment(**social_env(secrets), **own_groups("social"), **variables):
        return create_app()


# Module scope: a connector left running would take other modules' replies to deliver,
# without the providers they point at.
@pytest.fixture(scope="module")
async def social_url(stack_env: None, fixture_secrets: dict[str, str]) -> AsyncIterator[str]:
    """Base URL of a running social connector that knows the fixture secrets."""
    async with serving(social_app(fixture_secrets)) as url:
        await wait_until_ready(url)
        yield url
