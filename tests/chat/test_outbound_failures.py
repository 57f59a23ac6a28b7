"""Replies that cannot leave: no outbound path configured, or a provider that never answers
until the give-up time."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.chat.models import delivery
from services.chat.outbound import SlackTransport
from services.chat.settings import ChatSettings
from shared.db import Database
from shared.kafka import EventProducer, publish_interactions
from shared.outbound import Failed
from switchboard_dev.ports import free_port
from tests.chat.conftest import chat_app
from tests.chat.test_outbound import reply, slack_key
from tests.support.outbound import delivery_row, statuses_of
from tests.support.server import serving


@pytest.fixture(scope="module")
async def failing(stack_env: None) -> AsyncIterator[str]:
    """No generic outbound URL; Slack at a port nobody listens on, given up after 2 s."""
    app = chat_app(
        CHAT_GENERIC_OUTBOUND_URL="",
        CHAT_SLACK_BOT_TOKEN="xoxb-test-token",
        CHAT_SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api",
        CHAT_OUTBOUND_GIVE_UP_S="2",
    )
    async with serving(app) as url:
        yield url


async def test_a_generic_reply_without_outbound_url_fails_at_once(
    failing: str, producer: EventProducer, broker: str, database: Database
) -> None:
    sent = reply("acme", "acme:unconfigured-1")
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert (
        status["content"]["status_reason"]
        == "no outbound path configured: set CHAT_GENERIC_OUTBOUND_URL"
    )
    assert (await delivery_row(database, delivery, sent)).attempts == 1


async def test_slack_without_bot_token_has_no_outbound_path() -> None:
    transport = SlackTransport(ChatSettings(slack_bot_token=""))
    async with httpx.AsyncClient() as client:
        outcome = await transport.send(reply("slack", slack_key()), client)
    assert outcome == Failed("no outbound path configured: set CHAT_SLACK_BOT_TOKEN")


async def test_a_provider_that_never_answers_is_given_up(
    failing: str, producer: EventProducer, broker: str, database: Database
) -> None:
    sent = reply("slack", slack_key())
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    reason = status["content"]["status_reason"]
    row = await delivery_row(database, delivery, sent)
    assert row.attempts >= 2
    assert reason.startswith(f"gave up after {row.attempts} attempts: ConnectError")
