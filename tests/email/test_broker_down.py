"""Broker or database unreachable: 503 with Retry-After, and the provider's retry is accepted."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from services.email.app import create_app
from shared.events import INTERACTIONS_TOPIC
from switchboard_dev.broker import Broker
from switchboard_dev.ports import free_port
from tests.email.support import mailgun_signature, mime_event_id, mime_message, settings_for
from tests.support.kafka import read_topic, values
from tests.support.server import serving


@pytest.fixture
def private_broker() -> Iterator[Broker]:
    """A broker of this test's own, so pausing it disturbs no other test."""
    with Broker.running() as broker:
        yield broker


def _app_on(bootstrap: str, database_url: str, secrets: dict[str, str]) -> FastAPI:
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "DATABASE_URL": database_url,
        "KAFKA_PUBLISH_TIMEOUT_S": "2",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return create_app(settings_for(secrets))
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


async def _wait_ready(client: httpx.AsyncClient) -> None:
    for _ in range(100):
        if (await client.get("/readyz")).status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the email connector never became ready")


async def test_a_mailgun_post_refused_with_503_is_accepted_on_retry_with_the_same_token(
    private_broker: Broker, database_url: str, fixture_secrets: dict[str, str]
) -> None:
    app = _app_on(private_broker.bootstrap, database_url, fixture_secrets)
    message_id = f"retry-{uuid.uuid4().hex}@example.com"
    signature = mailgun_signature(fixture_secrets["mailgun_signing_key"])
    fields = {**signature, "body-mime": mime_message(message_id).decode()}
    files = {name: (None, value) for name, value in fields.items()}
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        await _wait_ready(client)
        private_broker.pause()
        try:
            refused = await client.post("/inbound/mailgun", files=files)
        finally:
            private_broker.resume()
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"]
        assert refused.json()["error"] == "broker_unavailable"

        await _wait_ready(client)
        # Mailgun retries with the same token: the refused attempt must not have spent it.
        retried = await client.post("/inbound/mailgun", files=files)
        assert retried.status_code == 200, retried.text

    event_id = mime_event_id("mailgun", message_id)
    records = await read_topic(
        private_broker.bootstrap,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(v["event_id"] == event_id for v in values(rs)),
        settle=1.0,
    )
    assert [v["event_id"] for v in values(records)].count(event_id) >= 1


async def test_mail_gets_503_while_the_database_is_unreachable(
    broker: str, fixture_secrets: dict[str, str]
) -> None:
    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/switchboard"
    app = _app_on(broker, nowhere, fixture_secrets)
    mail = mime_message(f"no-db-{uuid.uuid4().hex}@example.com")
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        refused = await client.post(
            "/inbound/mime", content=mail, headers={"Authorization": "Bearer dev-mime-token"}
        )
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"]
    assert refused.json()["error"] == "database_unavailable"
