"""A chat connector without Slack token or generic outbound URL fails replies at once, saying
which setting is missing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.kafka import EventProducer, publish_interactions
from tests.chat.conftest import chat_app
from tests.chat.test_outbound import reply, slack_key, statuses_of
from tests.support.server import serving


@pytest.fixture(scope="module")
async def unconfigured(stack_env: None) -> AsyncIterator[str]:
    app = chat_app(CHAT_SLACK_BOT_TOKEN="", CHAT_GENERIC_OUTBOUND_URL="")
    async with serving(app) as url:
        yield url


@pytest.mark.parametrize(
    ("provider", "variable"),
    [("slack", "CHAT_SLACK_BOT_TOKEN"), ("acme", "CHAT_GENERIC_OUTBOUND_URL")],
)
async def test_a_provider_without_outbound_path_fails_at_once(
    unconfigured: str, producer: EventProducer, broker: str, provider: str, variable: str
) -> None:
    key = slack_key() if provider == "slack" else "acme:unconfigured-1"
    sent = reply(provider, key)
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == f"no outbound path configured: set {variable}"
