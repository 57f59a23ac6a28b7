"""A chat connector served for the module, with the fixtures' Slack secret."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI

from services.chat.app import create_app
from switchboard_dev.broker import Broker
from tests.support.groups import own_groups
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
    # Every test of a module opens its sessions from 127.0.0.1: the flood limits are high
    # here, and test_floods.py tests them on connectors of its own.
    app = chat_app(
        CHAT_SLACK_SIGNING_SECRET=fixture_secrets["slack_signing_secret"],
        CHAT_SESSIONS_PER_MINUTE_PER_ADDRESS="100000",
        CHAT_MESSAGES_PER_MINUTE_PER_SESSION="100000",
        CHAT_MESSAGES_PER_MINUTE_PER_ADDRESS="100000",
        CHAT_STREAMS_PER_ADDRESS="1000",
    )
    async with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
async def chat(chat_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=chat_url, timeout=30) as client:
        yield client


def chat_app(**env: str) -> FastAPI:
    """A chat connector built with these environment variables, on consumer groups of its own."""
    with environment({**own_groups("chat"), **env}):
        return create_app()


@pytest.fixture
def private_broker() -> Iterator[Broker]:
    """A broker of this test's own, so pausing it disturbs no other test."""
    with Broker.running() as broker:
        yield broker


@pytest.fixture
def on_private_broker(private_broker: Broker, database_url: str) -> FastAPI:
    """A chat connector on the private broker that gives up publishing after 2 s."""
    return chat_app(
        KAFKA_BOOTSTRAP_SERVERS=private_broker.bootstrap,
        DATABASE_URL=database_url,
        KAFKA_PUBLISH_TIMEOUT_S="2",
    )


async def wait_ready(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        if (await client.get("/readyz")).status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the chat connector never became ready")
