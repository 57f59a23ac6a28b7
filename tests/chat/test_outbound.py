"""Agents' replies reach Slack and the generic outbound webhook, once, with every outcome
published as a message.status (real broker, Postgres and a provider emulator)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert

from services.chat.models import delivery
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
from shared.outbound import UNCERTAIN_REASON
from tests.chat.conftest import chat_app
from tests.support.emulator import Answer, ProviderEmulator
from tests.support.outbound import delivery_row, statuses_of
from tests.support.server import serving

BOT_TOKEN = "xoxb-test-token"
OUTBOUND_SECRET = "outbound-secret"


@pytest.fixture(scope="module")
async def connector(stack_env: None, emulator: ProviderEmulator) -> AsyncIterator[str]:
    app = chat_app(
        CHAT_SLACK_API_URL=emulator.url,
        CHAT_SLACK_BOT_TOKEN=BOT_TOKEN,
        CHAT_GENERIC_OUTBOUND_URL=f"{emulator.url}/replies",
        CHAT_GENERIC_OUTBOUND_SECRET=OUTBOUND_SECRET,
    )
    async with serving(app) as url:
        yield url


def reply(
    provider: str, conversation_key: str, text: str = "Hello from support"
) -> InteractionEvent:
    """An agent's reply exactly as routing publishes it."""
    reply_id = uuid.uuid4()
    now = utc_now()
    return InteractionEvent(
        event_id=event_id_for("routing", str(reply_id), EventType.MESSAGE_SENT),
        type=EventType.MESSAGE_SENT,
        channel=Channel.CHAT,
        provider=provider,
        direction=Direction.OUTBOUND,
        occurred_at=now,
        received_at=now,
        customer=Customer(id="U123", kind="slack_user" if provider == "slack" else "id"),
        conversation_key=conversation_key,
        content=Content(text=text),
        agent_id="agent-7",
        raw_ref=str(reply_id),
    )


def slack_key() -> str:
    return f"slack:C{uuid.uuid4().hex[:8].upper()}:1700000000.000001"


async def test_a_slack_reply_is_posted_in_its_thread_once(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    key = slack_key()
    sent = reply("slack", key)
    await publish_interactions(producer, [sent, sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    requests = [r for r in emulator.to("/chat.postMessage") if key.split(":")[1] in r.body.decode()]
    assert len(requests) == 1
    [request] = requests
    assert request.method == "POST"
    assert request.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert request.json() == {
        "channel": key.split(":")[1],
        "thread_ts": "1700000000.000001",
        "text": "Hello from support",
    }
    assert status["content"]["status"] == "sent"
    assert status["raw_ref"] == "1700000000.000100"
    assert status["direction"] == "outbound"
    assert status["conversation_key"] == key
    assert status["provider"] == "slack"


async def test_slack_replies_to_one_channel_leave_a_second_apart(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    key = slack_key()
    first, second = reply("slack", key, "first"), reply("slack", key, "second")
    await publish_interactions(producer, [first, second])

    for sent in (first, second):
        [status] = await statuses_of(broker, sent)
        assert status["content"]["status"] == "sent"
    channel = key.split(":")[1]
    requests = [r for r in emulator.to("/chat.postMessage") if r.json()["channel"] == channel]
    assert sorted(r.json()["text"] for r in requests) == ["first", "second"]
    assert abs(requests[1].at - requests[0].at) >= 0.9


async def test_a_slack_429_is_retried_after_retry_after(
    connector: str,
    producer: EventProducer,
    broker: str,
    emulator: ProviderEmulator,
    database: Database,
) -> None:
    emulator.script(
        "/chat.postMessage",
        Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}),
    )
    sent = reply("slack", slack_key())
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "sent"
    row = await delivery_row(database, delivery, sent)
    assert (row.state, row.attempts) == ("sent", 2)
    assert row.last_error == "slack: rate limited"


async def test_a_slack_error_ends_as_a_failed_status_with_its_reason(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    emulator.script("/chat.postMessage", Answer(200, {"ok": False, "error": "channel_not_found"}))
    sent = reply("slack", slack_key())
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == "slack: channel_not_found"
    assert "raw_ref" not in status


async def test_a_generic_reply_is_posted_signed_once(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    conversation = uuid.uuid4().hex
    sent = reply("acme", f"acme:{conversation}")
    emulator.script("/replies", Answer(200, {"id": "acme-msg-1"}))
    await publish_interactions(producer, [sent])
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    requests = [r for r in emulator.to("/replies") if conversation in r.body.decode()]
    assert len(requests) == 1
    [request] = requests
    webhook_id, timestamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
    assert webhook_id == str(sent.event_id)
    assert abs(int(timestamp) - utc_now().timestamp()) < 60
    signed = f"{webhook_id}.{timestamp}.".encode() + request.body
    digest = hmac.new(OUTBOUND_SECRET.encode(), signed, hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "type": "message.sent",
        "source": "acme",
        "conversation_id": conversation,
        "conversation_key": f"acme:{conversation}",
        "customer": {"id": "U123", "kind": "id"},
        "text": "Hello from support",
        "in_reply_to": None,
        "reply_id": sent.raw_ref,
        "agent_id": "agent-7",
        "sent_at": sent.occurred_at.isoformat(),
    }
    assert status["content"]["status"] == "sent"
    assert status["raw_ref"] == "acme-msg-1"


async def test_a_generic_permanent_error_ends_as_failed(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    emulator.script("/replies", Answer(400, {"error": "unknown conversation"}))
    sent = reply("acme", f"acme:{uuid.uuid4().hex}")
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == 'HTTP 400: {"error": "unknown conversation"}'


async def test_a_delivery_left_sending_past_its_lease_becomes_uncertain(
    connector: str, broker: str, database: Database
) -> None:
    sent = reply("slack", slack_key())
    past = utc_now() - timedelta(minutes=5)
    async with database.transaction() as session:
        await session.execute(
            insert(delivery).values(
                event_id=sent.event_id,
                provider="slack",
                event=sent.to_json().decode(),
                state="sending",
                attempts=1,
                next_attempt_at=past,
                lease_until=past,
                created_at=past,
            )
        )

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == UNCERTAIN_REASON
    assert (await delivery_row(database, delivery, sent)).state == "uncertain"
