"""Replies that cannot leave (no token configured), and a bot token that stays out of logs."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from services.social.models import delivery
from services.social.outbound import TelegramTransport
from services.social.settings import SocialSettings
from shared.db import Database
from shared.kafka import EventProducer, publish_interactions
from shared.outbound import Sent
from tests.social.conftest import social_app
from tests.social.test_outbound import reply
from tests.support.emulator import Answer, ProviderEmulator
from tests.support.outbound import delivery_row, statuses_of
from tests.support.server import serving


@pytest.fixture(scope="module")
async def unconfigured(stack_env: None, fixture_secrets: dict[str, str]) -> AsyncIterator[str]:
    """A connector without any provider token."""
    async with serving(social_app(fixture_secrets)) as url:
        yield url


@pytest.mark.parametrize(
    ("provider", "key", "variable"),
    [
        ("whatsapp", "whatsapp:111:15550000010", "SOCIAL_WHATSAPP_TOKEN"),
        ("instagram", "instagram:account-1:u-unset", "SOCIAL_META_PAGE_TOKEN"),
        ("telegram", "telegram:5550010", "SOCIAL_TELEGRAM_BOT_TOKEN"),
        ("x", "x:1000-4001", "SOCIAL_X_BEARER_TOKEN"),
    ],
)
async def test_a_reply_without_a_token_fails_at_once(
    unconfigured: str,
    producer: EventProducer,
    broker: str,
    database: Database,
    provider: str,
    key: str,
    variable: str,
) -> None:
    sent = reply(provider, key, customer="4001")
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == f"no outbound path configured: set {variable}"
    assert (await delivery_row(database, delivery, sent)).attempts == 1


async def test_the_telegram_bot_token_is_masked_in_request_logs(
    emulator: ProviderEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    token = "424242:never-logged"
    path = f"/bot{token}/sendMessage"
    emulator.script(path, Answer(200, {"ok": True, "result": {"message_id": 5}}))
    transport = TelegramTransport(
        SocialSettings(telegram_api_url=emulator.url, telegram_bot_token=token)
    )
    with caplog.at_level(logging.INFO, logger="httpx"):
        async with httpx.AsyncClient() as client:
            outcome = await transport.send(reply("telegram", "telegram:5550011"), client)

    assert outcome == Sent("5")
    assert len(emulator.to(path)) == 1
    assert any("/bot<redacted>/sendMessage" in line for line in caplog.messages)
    assert not any(token in line for line in caplog.messages)
