"""The website chat API: sessions, messages, agents' replies, isolation, leaving."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import websockets

from shared.events import (
    INTERACTIONS_TOPIC,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)
from shared.kafka import EventProducer, OutgoingRecord
from tests.chat.conftest import chat_app
from tests.support.kafka import read_topic, values
from tests.support.server import serving


async def open_session(chat: httpx.AsyncClient, **fields: Any) -> tuple[str, dict[str, str]]:
    answer = await chat.post("/chat/sessions", json=fields)
    assert answer.status_code == 201, answer.text
    opened = answer.json()
    return opened["conversation_key"], {"Authorization": f"Bearer {opened['token']}"}


async def events_of(broker: str, key: str, count: int) -> list[dict[str, Any]]:
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: sum(r.key == key.encode() for r in rs) >= count,
        settle=1.0,
    )
    return [v for v in values(records) if v["conversation_key"] == key]


def agent_reply(key: str, text: str, **overrides: Any) -> InteractionEvent:
    now = datetime.now(UTC)
    fields: dict[str, Any] = dict(
        event_id=event_id_for("routing", uuid.uuid4().hex, EventType.MESSAGE_SENT),
        type=EventType.MESSAGE_SENT,
        channel=Channel.CHAT,
        provider="webchat",
        direction=Direction.OUTBOUND,
        occurred_at=now,
        received_at=now,
        customer=Customer(id="visitor", kind="session"),
        conversation_key=key,
        content=Content(text=text),
        agent_id="agent-7",
    )
    return InteractionEvent(**{**fields, **overrides})


async def test_a_visitor_message_is_published_once(chat: httpx.AsyncClient, broker: str) -> None:
    key, auth = await open_session(
        chat, name="Ada", email="Ada@Example.com", page_url="https://shop.example.com/cart",
        attributes={"plan": "pro"},
    )  # fmt: skip
    message = {"text": "Where is my parcel?", "client_message_id": "m-1"}
    sent = await chat.post("/chat/messages", json=message, headers=auth)
    assert sent.status_code == 202, sent.text
    resent = await chat.post("/chat/messages", json=message, headers=auth)
    assert resent.status_code == 202
    assert resent.json() == {"event_id": sent.json()["event_id"], "message": None}

    (event,) = await events_of(broker, key, 1)
    assert event["event_id"] == sent.json()["event_id"]
    assert event["type"] == "message.received"
    assert event["channel"] == "chat"
    assert event["provider"] == "webchat"
    assert event["customer"] == {"id": "ada@example.com", "display_name": "Ada", "kind": "email"}
    assert event["content"]["text"] == "Where is my parcel?"
    assert event["content"]["language"] == "en"  # detected: the widget states none
    assert event["provider_meta"] == {
        "page_url": "https://shop.example.com/cart",
        "attribute.plan": "pro",
    }


async def test_the_browser_language_counts_only_when_the_text_tells_none(
    chat: httpx.AsyncClient, broker: str
) -> None:
    key, auth = await open_session(chat)
    messages = [
        # Too short to tell: the browser's language (de-AT) is the message's.
        {"text": "Hi", "client_message_id": "b-1", "language": "de-AT"},
        # The text's own language wins over the browser's.
        {"text": "Bonjour, ma commande n'est toujours pas arrivée", "client_message_id": "b-2",
         "language": "de-AT"},
        # A tag that names no ISO 639-1 language is ignored.
        {"text": "ok", "client_message_id": "b-3", "language": "x-klingon"},
        {"text": "ok!", "client_message_id": "b-4"},
    ]  # fmt: skip
    for message in messages:
        sent = await chat.post("/chat/messages", json=message, headers=auth)
        assert sent.status_code == 202, sent.text
    events = await events_of(broker, key, 4)
    languages = {e["content"]["text"]: e["content"].get("language") for e in events}
    assert languages == {
        "Hi": "de",
        "Bonjour, ma commande n'est toujours pas arrivée": "fr",
        "ok": None,
        "ok!": None,
    }
    too_long = {"text": "Hi", "client_message_id": "b-5", "language": "x" * 65}
    refused = await chat.post("/chat/messages", json=too_long, headers=auth)
    assert refused.status_code == 400
    assert "language" in refused.text  # the problem names the field


async def test_agent_replies_reach_the_visitor_live_and_after_reconnecting(
    chat: httpx.AsyncClient, chat_url: str, producer: EventProducer
) -> None:
    key, auth = await open_session(chat)
    token = auth["Authorization"].removeprefix("Bearer ")
    await chat.post(
        "/chat/messages", json={"text": "hello?", "client_message_id": "a"}, headers=auth
    )
    stream_url = chat_url.replace("http", "ws") + f"/chat/stream?token={token}"
    async with websockets.connect(stream_url) as socket:
        first = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert (first["author"], first["text"]) == ("visitor", "hello?")
        reply = agent_reply(key, "Hi! Let me look at your order.")
        await producer.publish(OutgoingRecord(INTERACTIONS_TOPIC, reply.kafka_key, reply.to_json()))
        pushed = json.loads(await asyncio.wait_for(socket.recv(), 30))
    assert pushed["author"] == "agent"
    assert pushed["agent_id"] == "agent-7"
    assert pushed["text"] == "Hi! Let me look at your order."

    # A visitor who reconnects reads what came since the last message they saw.
    history = await chat.get(f"/chat/messages?after={first['id']}", headers=auth)
    assert [m["text"] for m in history.json()["messages"]] == ["Hi! Let me look at your order."]


async def test_a_visitor_can_read_only_their_own_session(
    chat: httpx.AsyncClient, chat_url: str
) -> None:
    _, mine = await open_session(chat)
    await chat.post(
        "/chat/messages", json={"text": "private", "client_message_id": "p"}, headers=mine
    )
    _, theirs = await open_session(chat)
    assert (await chat.get("/chat/messages", headers=theirs)).json() == {
        "messages": [],
        "next_after": None,
    }
    forged = {"Authorization": "Bearer " + "x" * 43}
    for call in (
        chat.get("/chat/messages", headers=forged),
        chat.get("/chat/session", headers=forged),
        chat.post("/chat/messages", json={"text": "hi", "client_message_id": "z"}, headers=forged),
        chat.post("/chat/close", headers=forged),
        chat.get("/chat/messages"),
    ):
        answer = await call
        assert answer.status_code == 404
        assert answer.json()["error"] == "not_found"
    stream_url = chat_url.replace("http", "ws") + "/chat/stream?token=" + "x" * 43
    async with websockets.connect(stream_url) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4404


async def test_bad_messages_get_4xx_with_the_reason(chat: httpx.AsyncClient) -> None:
    _, auth = await open_session(chat)
    empty = await chat.post(
        "/chat/messages", json={"text": "", "client_message_id": "e"}, headers=auth
    )
    assert empty.status_code == 400
    assert empty.json()["detail"][0]["field"] == "text"
    huge = await chat.post(
        "/chat/messages", json={"text": "x" * 5000, "client_message_id": "h"}, headers=auth
    )
    assert huge.status_code == 413
    garbage = await chat.post("/chat/messages", content=b"{nope", headers=auth)
    assert garbage.status_code == 400
    bad_email = await chat.post("/chat/sessions", json={"email": "not an address"})
    assert bad_email.status_code == 400


async def test_leaving_before_an_answer_publishes_customer_left(
    chat: httpx.AsyncClient, broker: str
) -> None:
    key, auth = await open_session(chat)
    first = {"text": "anyone?", "client_message_id": "1"}
    await chat.post("/chat/messages", json=first, headers=auth)
    closed = await chat.post("/chat/close", headers=auth)
    assert closed.json() == {"closed": True}
    assert (await chat.post("/chat/close", headers=auth)).json() == {"closed": False}
    late = {"text": "still there?", "client_message_id": "2"}
    assert (await chat.post("/chat/messages", json=late, headers=auth)).status_code == 409

    events = await events_of(broker, key, 2)
    assert [e["type"] for e in events] == ["message.received", "customer.left"]
    assert events[1]["provider_meta"] == {"reason": "closed"}
    assert events[1]["event_id"] != events[0]["event_id"]


async def replied_then_closed(
    chat: httpx.AsyncClient, producer: EventProducer, auth: dict[str, str], reply: InteractionEvent
) -> None:
    """The visitor writes, ``reply`` reaches their session, then they close the chat."""
    await chat.post(
        "/chat/messages", json={"text": "hello", "client_message_id": "1"}, headers=auth
    )
    await producer.publish(OutgoingRecord(INTERACTIONS_TOPIC, reply.kafka_key, reply.to_json()))
    for _ in range(300):
        stored = (await chat.get("/chat/messages", headers=auth)).json()["messages"]
        if any(m["author"] == "agent" for m in stored):
            break
        await asyncio.sleep(0.1)
    assert [m["author"] for m in stored] == ["visitor", "agent"]
    assert (await chat.post("/chat/close", headers=auth)).json() == {"closed": True}


async def test_leaving_after_an_agent_replied_is_no_abandon(
    chat: httpx.AsyncClient, broker: str, producer: EventProducer
) -> None:
    key, auth = await open_session(chat)
    reply = agent_reply(key, "Hello, how can I help?")
    await replied_then_closed(chat, producer, auth, reply)
    # The close answers after any event it publishes was acknowledged: none may follow.
    events = await events_of(broker, key, 2)
    assert [e["type"] for e in events] == ["message.received", "message.sent"]


async def test_leaving_after_only_a_bot_replied_is_an_abandon(
    chat: httpx.AsyncClient, broker: str, producer: EventProducer
) -> None:
    key, auth = await open_session(chat)
    reply = agent_reply(key, "We usually answer within minutes.", agent_id=None, automated=True)
    await replied_then_closed(chat, producer, auth, reply)
    events = await events_of(broker, key, 3)
    assert [e["type"] for e in events] == ["message.received", "message.sent", "customer.left"]


async def test_a_silent_visitor_times_out_and_leaves(stack_env: None, broker: str) -> None:
    app = chat_app(CHAT_IDLE_TIMEOUT_S="1", CHAT_IDLE_CHECK_INTERVAL_S="0.3")
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as chat:
        key, auth = await open_session(chat)
        hello = {"text": "hi", "client_message_id": "1"}
        await chat.post("/chat/messages", json=hello, headers=auth)
        events = await events_of(broker, key, 2)
    assert [e["type"] for e in events] == ["message.received", "customer.left"]
    assert events[1]["provider_meta"]["reason"] == "timed_out"


async def test_only_the_configured_sites_may_call_the_visitor_api(stack_env: None) -> None:
    app = chat_app(CHAT_WIDGET_ORIGINS="https://shop.example.com, https://help.example.com")
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as chat:
        allowed = await chat.options(
            "/chat/messages", headers={**preflight, "Origin": "https://help.example.com"}
        )
        refused = await chat.options(
            "/chat/messages", headers={**preflight, "Origin": "https://evil.example.net"}
        )
        opened = await chat.post(
            "/chat/sessions", json={}, headers={"Origin": "https://shop.example.com"}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://help.example.com"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert opened.status_code == 201
    assert opened.headers["access-control-allow-origin"] == "https://shop.example.com"
