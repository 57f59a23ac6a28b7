"""Agents' replies reach WhatsApp, Messenger, Instagram, Telegram and X once, with every
outcome published as a message.status (real broker, Postgres and a provider emulator)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from services.social.models import delivery
from services.social.outbound.whatsapp import OUTSIDE_WINDOW
from shared.clock import utc_now
from shared.db import Database
from shared.events import (
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)
from shared.kafka import EventProducer, publish_interactions
from tests.social.conftest import social_app
from tests.support.emulator import Answer, ProviderEmulator
from tests.support.outbound import delivery_row, statuses_of
from tests.support.server import serving

WHATSAPP_TOKEN = "whatsapp-test-token"
PAGE_TOKEN = "page-test-token"
BOT_TOKEN = "123456:telegram-test-token"
X_TOKEN = "x-test-token"
TELEGRAM_PATH = f"/bot{BOT_TOKEN}/sendMessage"


@pytest.fixture(scope="module")
async def connector(
    stack_env: None, fixture_secrets: dict[str, str], emulator: ProviderEmulator
) -> AsyncIterator[str]:
    app = social_app(
        fixture_secrets,
        SOCIAL_META_GRAPH_URL=emulator.url,
        SOCIAL_WHATSAPP_TOKEN=WHATSAPP_TOKEN,
        SOCIAL_META_PAGE_TOKEN=PAGE_TOKEN,
        SOCIAL_TELEGRAM_API_URL=emulator.url,
        SOCIAL_TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        SOCIAL_X_API_URL=emulator.url,
        SOCIAL_X_BEARER_TOKEN=X_TOKEN,
    )
    async with serving(app) as url:
        yield url


def reply(
    provider: str,
    conversation_key: str,
    *,
    customer: str = "customer-1",
    text: str = "Hello from support",
    in_reply_to: str | None = None,
    written_ago: timedelta | None = timedelta(minutes=5),
    **meta: str,
) -> InteractionEvent:
    """An agent's reply exactly as routing publishes it."""
    reply_id = uuid.uuid4()
    now = utc_now()
    if written_ago is not None:
        meta["customer_last_message_at"] = (now - written_ago).isoformat()
    return InteractionEvent(
        event_id=event_id_for("routing", str(reply_id), EventType.MESSAGE_SENT),
        type=EventType.MESSAGE_SENT,
        channel=Channel.SOCIAL,
        provider=provider,
        direction=Direction.OUTBOUND,
        occurred_at=now,
        received_at=now,
        customer=Customer(id=customer),
        conversation_key=conversation_key,
        content=Content(text=text, in_reply_to=in_reply_to),
        agent_id="agent-7",
        raw_ref=str(reply_id),
        provider_meta=meta,
    )


def number() -> str:
    return "1" + uuid.uuid4().hex[:12]


def ok_whatsapp(wa_id: str, wamid: str) -> Answer:
    return Answer(
        200,
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": wa_id, "wa_id": wa_id}],
            "messages": [{"id": wamid}],
        },
    )


def graph_error(message: str, code: int, kind: str = "OAuthException") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": "Atrace"}}


def assert_sent(status: dict[str, Any], sent: InteractionEvent, provider_id: str) -> None:
    assert status["content"]["status"] == "sent"
    assert status["raw_ref"] == provider_id
    assert status["direction"] == "outbound"
    assert status["conversation_key"] == sent.conversation_key
    assert status["provider"] == sent.provider


async def test_a_whatsapp_reply_is_sent_once_as_an_answer(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    phone_number_id, wa_id = number(), "15551234567"
    path = f"/{phone_number_id}/messages"
    emulator.script(path, ok_whatsapp(wa_id, "wamid.OUT1"))
    sent = reply("whatsapp", f"whatsapp:{phone_number_id}:{wa_id}", in_reply_to="wamid.CUSTOMER1")
    await publish_interactions(producer, [sent])
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    [request] = emulator.to(path)
    assert request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {WHATSAPP_TOKEN}"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": wa_id,
        "type": "text",
        "text": {"body": "Hello from support"},
        "context": {"message_id": "wamid.CUSTOMER1"},
    }
    assert_sent(status, sent, "wamid.OUT1")


async def test_a_whatsapp_reply_outside_the_window_fails_without_a_request(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    phone_number_id = number()
    late = reply(
        "whatsapp", f"whatsapp:{phone_number_id}:15550000001", written_ago=timedelta(hours=25)
    )
    unknown = reply("whatsapp", f"whatsapp:{phone_number_id}:15550000002", written_ago=None)
    await publish_interactions(producer, [late, unknown])

    for sent in (late, unknown):
        [status] = await statuses_of(broker, sent)
        assert status["content"]["status"] == "failed"
        assert status["content"]["status_reason"] == OUTSIDE_WINDOW
    assert emulator.to(f"/{phone_number_id}/messages") == []


async def test_a_whatsapp_reply_naming_a_template_sends_the_template(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    phone_number_id, wa_id = number(), "15550000003"
    path = f"/{phone_number_id}/messages"
    emulator.script(path, ok_whatsapp(wa_id, "wamid.TEMPLATE"))
    sent = reply(
        "whatsapp",
        f"whatsapp:{phone_number_id}:{wa_id}",
        written_ago=timedelta(days=3),
        whatsapp_template="order_update",
        whatsapp_template_language="pt_BR",
    )
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    [request] = emulator.to(path)
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": wa_id,
        "type": "template",
        "template": {"name": "order_update", "language": {"code": "pt_BR"}},
    }
    assert_sent(status, sent, "wamid.TEMPLATE")


async def test_a_whatsapp_throughput_error_is_retried_after_retry_after(
    connector: str,
    producer: EventProducer,
    broker: str,
    emulator: ProviderEmulator,
    database: Database,
) -> None:
    phone_number_id, wa_id = number(), "15550000004"
    path = f"/{phone_number_id}/messages"
    emulator.script(
        path,
        Answer(400, graph_error("(#130429) Rate limit hit", 130429), {"Retry-After": "1"}),
        ok_whatsapp(wa_id, "wamid.AFTER"),
    )
    sent = reply("whatsapp", f"whatsapp:{phone_number_id}:{wa_id}")
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert_sent(status, sent, "wamid.AFTER")
    first, second = emulator.to(path)
    assert second.at - first.at >= 0.9
    row = await delivery_row(database, delivery, sent)
    assert (row.state, row.attempts, row.last_error) == ("sent", 2, "(#130429) Rate limit hit")


async def test_a_whatsapp_permanent_error_ends_failed_with_its_message(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    phone_number_id = number()
    message = "(#131030) Recipient phone number not in allowed list"
    emulator.script(f"/{phone_number_id}/messages", Answer(400, graph_error(message, 131030)))
    sent = reply("whatsapp", f"whatsapp:{phone_number_id}:15550000005")
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == message
    assert status["status_of"] == str(sent.event_id)
    assert "raw_ref" not in status


@pytest.mark.parametrize("provider", ["messenger", "instagram"])
async def test_a_messenger_or_instagram_reply_is_sent_once(
    connector: str,
    producer: EventProducer,
    broker: str,
    emulator: ProviderEmulator,
    provider: str,
) -> None:
    user = uuid.uuid4().hex[:16]
    emulator.script("/me/messages", Answer(200, {"recipient_id": user, "message_id": f"m_{user}"}))
    sent = reply(provider, f"{provider}:page-1:{user}", customer=user)
    await publish_interactions(producer, [sent, sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    [request] = [r for r in emulator.to("/me/messages") if user in r.body.decode()]
    assert request.headers["authorization"] == f"Bearer {PAGE_TOKEN}"
    assert request.query == ""
    assert request.json() == {
        "recipient": {"id": user},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hello from support"},
    }
    assert_sent(status, sent, f"m_{user}")


async def test_a_messenger_429_then_sent_and_a_permanent_error(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    emulator.script(
        "/me/messages",
        Answer(
            429,
            graph_error("(#613) Calls to this api have exceeded the rate limit.", 613),
            {"Retry-After": "1"},
        ),
        Answer(200, {"recipient_id": "u-429", "message_id": "m_after"}),
    )
    retried = reply("messenger", "messenger:page-1:u-429", customer="u-429")
    await publish_interactions(producer, [retried])
    [status] = await statuses_of(broker, retried)
    assert_sent(status, retried, "m_after")

    message = "(#100) No matching user found"
    emulator.script("/me/messages", Answer(400, graph_error(message, 100)))
    refused = reply("instagram", "instagram:account-1:u-400", customer="u-400")
    await publish_interactions(producer, [refused])
    [status] = await statuses_of(broker, refused)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == message


async def test_an_instagram_comment_thread_cannot_be_answered_by_a_direct_message(
    connector: str, producer: EventProducer, broker: str
) -> None:
    sent = reply("instagram", "instagram:account-1:comments:media-9")
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert "comment thread" in status["content"]["status_reason"]


async def test_a_telegram_reply_answers_the_customer_once(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    chat = str(-(10**12) - int(uuid.uuid4().int % 10**9))
    emulator.script(TELEGRAM_PATH, Answer(200, {"ok": True, "result": {"message_id": 77}}))
    sent = reply("telegram", f"telegram:{chat}", in_reply_to=f"{chat}:41")
    await publish_interactions(producer, [sent, sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    [request] = [r for r in emulator.to(TELEGRAM_PATH) if r.json()["chat_id"] == chat]
    assert request.json() == {
        "chat_id": chat,
        "text": "Hello from support",
        "reply_parameters": {"message_id": 41},
    }
    assert_sent(status, sent, "77")


async def test_a_telegram_flood_wait_then_sent_and_a_refusal(
    connector: str,
    producer: EventProducer,
    broker: str,
    emulator: ProviderEmulator,
    database: Database,
) -> None:
    emulator.script(
        TELEGRAM_PATH,
        Answer(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        ),
        Answer(200, {"ok": True, "result": {"message_id": 78}}),
    )
    retried = reply("telegram", "telegram:5550001")
    await publish_interactions(producer, [retried])
    [status] = await statuses_of(broker, retried)
    assert_sent(status, retried, "78")
    row = await delivery_row(database, delivery, retried)
    assert (row.attempts, row.last_error) == (2, "telegram: rate limited")
    assert BOT_TOKEN not in (row.last_error or "")

    emulator.script(
        TELEGRAM_PATH,
        Answer(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
    )
    refused = reply("telegram", "telegram:5550002")
    await publish_interactions(producer, [refused])
    [status] = await statuses_of(broker, refused)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == "Bad Request: chat not found"


async def test_an_x_reply_is_a_direct_message_to_the_customer_once(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    ours, customer = "1000", str(uuid.uuid4().int % 10**15)
    path = f"/2/dm_conversations/with/{customer}/messages"
    emulator.script(
        path,
        Answer(201, {"data": {"dm_conversation_id": f"{ours}-{customer}", "dm_event_id": "dm-1"}}),
    )
    sent = reply("x", f"x:{ours}-{customer}", customer=customer)
    await publish_interactions(producer, [sent, sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    [request] = emulator.to(path)
    assert request.headers["authorization"] == f"Bearer {X_TOKEN}"
    assert request.json() == {"text": "Hello from support"}
    assert_sent(status, sent, "dm-1")


async def test_an_x_429_then_sent_and_a_permanent_error(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    ours, customer = "2000", str(uuid.uuid4().int % 10**15)
    path = f"/2/dm_conversations/with/{customer}/messages"
    emulator.script(
        path,
        Answer(429, {"title": "Too Many Requests", "status": 429}, {"Retry-After": "1"}),
        Answer(201, {"data": {"dm_conversation_id": "c", "dm_event_id": "dm-2"}}),
    )
    retried = reply("x", f"x:{ours}-{customer}", customer=customer)
    await publish_interactions(producer, [retried])
    [status] = await statuses_of(broker, retried)
    assert_sent(status, retried, "dm-2")
    assert len(emulator.to(path)) == 2

    other = str(uuid.uuid4().int % 10**15)
    detail = "You cannot send messages to users who are not following you."
    emulator.script(
        f"/2/dm_conversations/with/{other}/messages",
        Answer(403, {"title": "Forbidden", "detail": detail, "status": 403}),
    )
    refused = reply("x", f"x:{other}-3000", customer=other)
    await publish_interactions(producer, [refused])
    [status] = await statuses_of(broker, refused)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == detail
