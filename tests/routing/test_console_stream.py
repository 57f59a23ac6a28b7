"""The console's live stream in Debian's chromium: a banner while it is down, and what was
missed comes on reconnection (EventSource's Last-Event-ID and routing's replay)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Route, expect

from shared.events import Content
from tests.factories import interaction
from tests.routing.support import Routing, tag
from tests.routing.test_console_browser import WAIT, console_of, launched

#: Streams end every few seconds here (the browser reconnects), so a test can cut the
#: reconnection off without killing the service.
ROUTING_SETTINGS = {"stream_max_s": 2.0}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as browser:
        yield browser


async def refuse(route: Route) -> None:
    await route.abort("connectionrefused")


async def test_the_stream_shows_when_it_is_down_and_catches_up(
    browser: Browser, routing: Routing
) -> None:
    t = tag()
    provider = f"console-{t}"
    await routing.queue(providers=[provider], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    context, page = await console_of(browser, routing, agent)
    key = f"{provider}:{uuid.uuid4().hex}"
    await routing.publish(interaction(provider=provider, conversation_key=key))
    await page.locator("#offers .offer .accept").click(timeout=WAIT)
    await expect(page.locator("#transcript .msg.customer")).to_have_count(1, timeout=WAIT)
    await expect(page.locator("#banner")).to_be_hidden()

    # The server cannot be reached: once the open stream ends, reconnecting fails.
    await page.route("**/agent/stream", refuse)
    await expect(page.locator("#banner")).to_contain_text("Disconnected", timeout=WAIT)
    # Written while the agent's page is cut off: it comes once the stream is back.
    await routing.publish(
        interaction(provider=provider, conversation_key=key, content=Content(text="Still there?"))
    )
    await routing.conversation_in(key, "assigned")
    await page.unroute("**/agent/stream")
    await expect(page.locator("#banner")).to_be_hidden(timeout=WAIT)
    await expect(page.locator("#transcript .msg.customer .text").last).to_have_text(
        "Still there?", timeout=WAIT
    )
    await context.close()
