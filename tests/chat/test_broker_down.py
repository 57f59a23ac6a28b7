"""Broker unreachable: the visitor API answers 503 and a resend is published exactly once."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from shared.events import INTERACTIONS_TOPIC
from switchboard_dev.broker import Broker
from tests.chat.conftest import wait_ready
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
