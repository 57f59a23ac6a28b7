"""The widget in a real headless browser: a visitor writes, an agent's reply appears."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.async_api import Browser, async_playwright, expect

from shared.events import INTERACTIONS_TOPIC
from shared.kafka import EventProducer, OutgoingRecord
from switchboard_dev.broker import Broker
from tests.chat.conftest import wait_ready
from tests.chat.test_website_chat import agent_reply, events_of
from tests.support.server import serving

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


async def test_a_visitor_chats_with_an_agent_through_the_widget(
    browser: Browser,
    chat_url: str,
    chat: httpx.AsyncClient,
    broker: str,
    producer: EventProducer,
    tmp_path: Path,
) -> None:
    page = await browser.new_page()
    await page.goto(f"{chat_url}/widget")
    question = f"My order {uuid.uuid4().hex[:6]} has not arrived"
    await page.fill("#sb-input", question)
    await page.click("#sb-send")
    await expect(page.locator(".sb-visitor")).to_have_text([question], timeout=20_000)

    token = await page.evaluate("localStorage.getItem('switchboard-chat-token')")
    session = (await chat.get("/chat/session", headers={"Authorization": f"Bearer {token}"})).json()
    (published,) = await events_of(broker, session["conversation_key"], 1)
    assert published["content"]["text"] == question
    assert published["provider_meta"]["page_url"] == f"{chat_url}/widget"

    reply = agent_reply(session["conversation_key"], "Sorry about that! It ships today.")
    await producer.publish(OutgoingRecord(INTERACTIONS_TOPIC, reply.kafka_key, reply.to_json()))
    await expect(page.locator(".sb-agent")).to_have_text(
        ["Sorry about that! It ships today."], timeout=30_000
    )
    await page.screenshot(path=str(tmp_path / "widget.png"))

    # Reloading the page keeps the conversation: the history comes back over the stream.
    await page.reload()
    await expect(page.locator(".sb-msg")).to_have_count(2, timeout=20_000)
    await page.close()


async def test_the_widget_tells_the_browser_language_for_a_text_too_short_to_tell(
    browser: Browser, chat_url: str, chat: httpx.AsyncClient, broker: str
) -> None:
    page = await browser.new_page(locale="fr-FR")
    await page.goto(f"{chat_url}/widget")
    await page.fill("#sb-input", "Allô ?")
    await page.click("#sb-send")
    await expect(page.locator(".sb-visitor")).to_have_text(["Allô ?"], timeout=20_000)
    token = await page.evaluate("localStorage.getItem('switchboard-chat-token')")
    session = (await chat.get("/chat/session", headers={"Authorization": f"Bearer {token}"})).json()
    (published,) = await events_of(broker, session["conversation_key"], 1)
    assert published["content"]["language"] == "fr"
    await page.close()


async def test_the_widget_shows_a_503_and_sends_again_until_published(
    browser: Browser, private_broker: Broker, on_private_broker: FastAPI
) -> None:
    question = f"Hello from {uuid.uuid4().hex[:6]}"
    async with serving(on_private_broker) as url, httpx.AsyncClient(base_url=url) as chat:
        await wait_ready(chat)
        page = await browser.new_page()
        await page.goto(f"{url}/widget")
        private_broker.pause()
        try:
            await page.fill("#sb-input", question)
            await page.click("#sb-send")
            await expect(page.locator("#sb-status")).to_contain_text("503", timeout=20_000)
            await expect(page.locator(".sb-visitor")).to_have_count(0)
        finally:
            private_broker.resume()
        await expect(page.locator(".sb-visitor")).to_have_text([question], timeout=30_000)
        await expect(page.locator("#sb-status")).to_have_text("")
        token = await page.evaluate("localStorage.getItem('switchboard-chat-token')")
        auth = {"Authorization": f"Bearer {token}"}
        key = (await chat.get("/chat/session", headers=auth)).json()["conversation_key"]
        await page.close()

    # Every try carried the same client message id: one event however often it was sent.
    (published,) = await events_of(private_broker.bootstrap, key, 1)
    assert published["content"]["text"] == question


def shop_site(widget_script: str) -> FastAPI:
    """A customer's site: one page that embeds the widget with a script tag."""
    shop = FastAPI()
    page = f'<html><body><h1>Checkout</h1><script src="{widget_script}" defer></script>'

    @shop.get("/checkout")
    async def checkout() -> HTMLResponse:
        return HTMLResponse(page)

    return shop


async def test_the_widget_works_embedded_in_another_sites_page(
    browser: Browser, chat_url: str, chat: httpx.AsyncClient, broker: str
) -> None:
    async with serving(shop_site(f"{chat_url}/widget.js")) as shop_url:
        # localhost is another origin than the connector's 127.0.0.1: every call of the
        # widget is cross-origin, as on a customer's site.
        checkout = shop_url.replace("127.0.0.1", "localhost") + "/checkout"
        page = await browser.new_page()
        await page.goto(checkout)
        question = f"Can I pay by invoice? {uuid.uuid4().hex[:6]}"
        await page.fill("#sb-input", question)
        await page.click("#sb-send")
        await expect(page.locator(".sb-visitor")).to_have_text([question], timeout=20_000)
        token = await page.evaluate("localStorage.getItem('switchboard-chat-token')")
        await page.close()

    session = (await chat.get("/chat/session", headers={"Authorization": f"Bearer {token}"})).json()
    (published,) = await events_of(broker, session["conversation_key"], 1)
    assert published["provider_meta"]["page_url"] == checkout
