"""A chat connector served for the module, with the fixtures' Slack secret."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest

from services.chat.app import create_app
from tests.support.server import serving


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
async def chat_url(stack_env: None, fixture_secrets: dict[str, str]) -> AsyncIterator[str]:
    env = {
        "CHAT_SLACK_SIGNING_SECRET": fixture_secrets["slack_signing_secret"],
        # A group of this app's own: a group shared with apps that already stopped waits
        # for their sessions to time out on the embedded broker.
        "CHAT_REPLIES_GROUP": f"chat-replies-{uuid.uuid4().hex[:8]}",
    }
    with environment(env):
        app = create_app()
    async with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
async def chat(chat_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=chat_url, timeout=30) as client:
        yield client
