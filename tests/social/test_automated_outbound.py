"""Routing's own messages (the out-of-hours reply, a survey question) take the agents' path:
the connector delivers an automated message.sent without an agent once, and its status is
automated too, so metrics does not count it as an agent's reply."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from services.routing.automated import message_id
from shared.clock import utc_now
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
from tests.support.outbound import statuses_of
from tests.support.server import serving

BOT_TOKEN = "123456:telegram-automated-token"
TELEGRAM_PATH = f"/bot{BOT_TOKEN}/sendMessage"


@pytest.fixture(scope="module")
async def connector(
    stack_env: None, fixture_secrets: dict[str, str], emulator: ProviderEmulator
) -> AsyncIterator[str]:
    app = social_app(
        fixture_secrets,
        SOCIAL_TELEGRAM_API_URL=emulator.url,
        SOCIAL_TELEGRAM_BOT_TOKEN=BOT_TOKEN,
    )
    async with serving(app) as url:
        yield url


async def test_an_automated_message_is_delivered_once_and_its_status_is_automated(
    connector: str, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    chat = str(-(10**12) - int(uuid.uuid4().int % 10**9))
    emulator.script(TELEGRAM_PATH, Answer(200, {"ok": True, "result": {"message_id": 90}}))
    raw_ref = str(message_id(f"{uuid.uuid4()}:closed"))
    now = utc_now()
    sent = InteractionEvent(
        event_id=event_id_for("routing", raw_ref, EventType.MESSAGE_SENT),
        type=EventType.MESSAGE_SENT,
        channel=Channel.SOCIAL,
        provider="telegram",
        direction=Direction.OUTBOUND,
        occurred_at=now,
        received_at=now,
        customer=Customer(id=chat, kind="telegram_user_id"),
        conversation_key=f"telegram:{chat}",
        content=Content(text="We are closed; we answer from 9:00."),
        automated=True,
        raw_ref=raw_ref,
    )
    await publish_interactions(producer, [sent, sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    [request] = [r for r in emulator.to(TELEGRAM_PATH) if r.json()["chat_id"] == chat]
    assert request.json()["text"] == "We are closed; we answer from 9:00."
    assert status["content"]["status"] == "sent"
    assert status["automated"] is True
    assert "agent_id" not in status
