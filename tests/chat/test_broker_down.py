"""Broker unreachable: the visitor API and Slack get 503, and a resend is published exactly once."""

from __future__ import annotations

import json
import uuid

import httpx
from fastapi import FastAPI

from shared.events import INTERACTIONS_TOPIC
from switchboard_dev.broker import Broker
from tests.chat.conftest import chat_app, wait_ready
from tests.chat.test_slack import signed
from tests.chat.test_website_chat import open_session
from tests.support.kafka import read_topic, values
from tests.support.server import serving


async def test_a_message_refused_with_503_is_published_once_when_resent(
    private_broker: Broker, on_private_broker: FastAPI
) -> None:
    message = {"text": "is anyone there?", "client_message_id": "m-1"}
    async with (
        serving(on_private_broker) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as chat,
    ):
        await wait_ready(chat)
        key, auth = await open_session(chat)
        private_broker.pause()
        try:
            refused = await chat.post("/chat/messages", json=message, headers=auth)
            leaving = await chat.post("/chat/close", headers=auth)
        finally:
            private_broker.resume()
        for answer in (refused, leaving):
            assert answer.status_code == 503, answer.text
            assert answer.headers["Retry-After"]
            assert answer.json()["error"] == "broker_unavailable"
        # Nothing was kept of the refused calls: no message, and the session is still open.
        assert (await chat.get("/chat/messages", headers=auth)).json() == {
            "messages": [],
            "next_after": None,
        }
        assert (await chat.get("/chat/session", headers=auth)).json()["closed"] is False

        await wait_ready(chat)
        resent = await chat.post("/chat/messages", json=message, headers=auth)
        assert resent.status_code == 202, resent.text
        assert resent.json()["message"]["text"] == "is anyone there?"
        assert (await chat.post("/chat/close", headers=auth)).json() == {"closed": True}

    records = await read_topic(
        private_broker.bootstrap,
        INTERACTIONS_TOPIC,
        until=lambda rs: sum(r.key == key.encode() for r in rs) >= 2,
        settle=1.0,
    )
    events = [v for v in values(records) if v["conversation_key"] == key]
    assert [e["type"] for e in events] == ["message.received", "customer.left"]
    assert events[0]["event_id"] == resent.json()["event_id"]


async def test_slack_gets_503_within_its_budget_and_its_retry_is_published_once(
    private_broker: Broker, database_url: str, fixture_secrets: dict[str, str]
) -> None:
    # The broker's budget is far longer than Slack waits; Slack's own budget answers first.
    app = chat_app(
        KAFKA_BOOTSTRAP_SERVERS=private_broker.bootstrap,
        DATABASE_URL=database_url,
        KAFKA_PUBLISH_TIMEOUT_S="60",
        CHAT_SLACK_PUBLISH_TIMEOUT_S="1",
        CHAT_SLACK_SIGNING_SECRET=fixture_secrets["slack_signing_secret"],
    )
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    payload = {
        "type": "event_callback",
        "team_id": "T0001",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event": {
            "type": "message",
            "channel": channel,
            "user": "U0001",
            "text": "hello?",
            "ts": "1767225600.000100",
        },
    }
    body = json.dumps(payload).encode()
    secret = fixture_secrets["slack_signing_secret"]
    # A client that gives up long before the broker's 60 s: only the Slack budget answers.
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as chat:
        await wait_ready(chat)
        private_broker.pause()
        try:
            refused = await chat.post("/webhooks/slack", content=body, headers=signed(body, secret))
        finally:
            private_broker.resume()
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "broker_unavailable"
        # Not final: Slack retries, and the retry is the one that publishes.
        assert "X-Slack-No-Retry" not in refused.headers

        await wait_ready(chat)
        retry = {
            **signed(body, secret),
            "X-Slack-Retry-Num": "1",
            "X-Slack-Retry-Reason": "http_error",
        }
        retried = await chat.post("/webhooks/slack", content=body, headers=retry)
        assert retried.status_code == 200, retried.text
        assert retried.json()["retry"] is False

    key = f"slack:{channel}:1767225600.000100"
    records = await read_topic(
        private_broker.bootstrap,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(r.key == key.encode() for r in rs),
        settle=2.0,
    )
    events = [v for v in values(records) if v["conversation_key"] == key]
    assert [e["event_id"] for e in events] == retried.json()["event_ids"]
