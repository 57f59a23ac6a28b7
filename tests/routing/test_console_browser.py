"""The agent console in Debian's chromium against a running routing service: sign in with a
link, take an offer live, read and reply (the delivery tick comes back), a note, a canned
response, transfer with a note to a colleague in another browser, resolve; the supervisor's
numbers move; customer text stays text; the phone-sized layout."""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright, expect

from shared.events import Attachment, Content, Customer, MessageStatus
from tests.chat.test_widget_browser import CHROMIUM, FLAGS
from tests.factories import interaction
from tests.routing.console_support import signin_url
from tests.routing.support import ADMIN_TOKEN, Agent, Routing, tag
from tests.routing.test_transcripts import message_sent, status

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
#: Where the screenshots go: the docs' images when set (to refresh them), else the test's tmp.
SCREENSHOTS = "CONSOLE_SCREENSHOTS"
WAIT = 20_000


@contextlib.asynccontextmanager
async def launched() -> AsyncIterator[Browser]:
    """Debian's chromium, driven by playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as browser:
        yield browser


def shots(tmp_path: Path) -> Path:
    return Path(os.environ.get(SCREENSHOTS) or tmp_path)


async def console_of(
    browser: Browser, routing: Routing, agent: Agent, viewport: dict[str, int] = DESKTOP
) -> tuple[BrowserContext, Page]:
    """A browser context of its own (its own cookies) signed in as the agent with a link."""
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(routing.url + await signin_url(routing, agent.id))
    await expect(page.locator("#agent-view")).to_be_visible(timeout=WAIT)
    # The token is out of the address bar once exchanged.
    assert "signin" not in page.url
    return context, page


async def supervisor_console(browser: Browser, routing: Routing) -> tuple[BrowserContext, Page]:
    """A supervisor signed in with a link, on the supervisor tab."""
    supervisor = await routing.agent(name=f"Sam {tag()} (supervisor)", role="supervisor")
    context, page = await console_of(browser, routing, supervisor)
    await page.click("#tab-supervisor")
    await expect(page.locator("#supervisor-view")).to_be_visible(timeout=WAIT)
    return context, page


async def admin_console(browser: Browser, routing: Routing) -> tuple[BrowserContext, Page]:
    """The supervisor view opened with the admin token (a proxy in front could add it)."""
    context = await browser.new_context(
        viewport=DESKTOP,  # type: ignore[arg-type]
        extra_http_headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    page = await context.new_page()
    await page.goto(f"{routing.url}/console/")
    await expect(page.locator("#supervisor-view")).to_be_visible(timeout=WAIT)
    await expect(page.locator("#tabs")).to_be_hidden()
    return context, page


def queue_cell(page: Page, queue: str, column: str) -> Locator:
    return page.locator(f'#queues tr[data-queue="{queue}"] td.{column}')


async def test_an_agent_works_a_conversation_from_offer_to_resolution(
    browser: Browser, routing: Routing, tmp_path: Path
) -> None:
    t = tag()
    provider = f"console-{t}"
    queue = (await routing.queue(providers=[provider], required_skills=[t]))["name"]
    for shortcut, text in [
        ("refund", "Your refund is on its way."),
        ("refund-late", "Refunds take up to five days."),
    ]:
        canned = await routing.admin.post(
            "/admin/canned-responses", json={"queue": queue, "shortcut": shortcut, "text": text}
        )
        assert canned.status_code == 201, canned.text
    alice = await routing.agent(name=f"Alice {t}", skills=[t])
    bob = await routing.agent(name=f"Bob {t}", status="available")
    supervisor_context, supervisor = await supervisor_console(browser, routing)
    await expect(queue_cell(supervisor, queue, "waiting")).to_have_text("0", timeout=WAIT)

    alice_context, page = await console_of(browser, routing, alice)
    await expect(page.locator("#me")).to_have_text(f"Alice {t}")
    # The console makes nobody available by itself: Alice says so.
    await expect(page.locator("#status")).to_have_value("offline")
    await page.select_option("#status", "available")
    await expect(page.locator("#status")).to_have_value("available")

    key = f"{provider}:{uuid.uuid4().hex}"
    question = "Hello, my parcel never arrived and I need it for Friday"
    customer = Customer(id=f"visitor-{t}", display_name="Dana Customer", kind="session")
    await routing.publish(
        interaction(
            provider=provider,
            conversation_key=key,
            customer=customer,
            content=Content(text=question),
        )
    )
    offer = page.locator("#offers .offer")
    await expect(offer.locator(".customer")).to_have_text("Dana Customer", timeout=WAIT)
    await expect(offer.locator(".preview")).to_have_text(question)
    await expect(offer.locator(".countdown")).to_have_text(re.compile(r"^\d+s$"))
    await expect(queue_cell(supervisor, queue, "offered")).to_have_text("1", timeout=WAIT)

    await offer.locator(".accept").click()
    await expect(page.locator("#transcript .msg.customer .text")).to_have_text(
        question, timeout=WAIT
    )
    await expect(page.locator("#conversations .conversation .customer")).to_have_text(
        "Dana Customer"
    )
    await expect(queue_cell(supervisor, queue, "assigned")).to_have_text("1", timeout=WAIT)
    await supervisor.screenshot(path=str(shots(tmp_path) / "console-supervisor.png"))

    # Reply with Enter; the tick moves when the connector reports the delivery.
    await page.fill("#reply", "Sorry to hear that! Let me check.")
    await page.press("#reply", "Enter")
    reply = page.locator("#transcript .msg.agent")
    await expect(reply.locator(".text")).to_have_text("Sorry to hear that! Let me check.")
    await expect(reply.locator(".tick")).to_have_attribute("data-status", "pending", timeout=WAIT)
    reply_id = await reply.get_attribute("data-id")
    assert reply_id is not None
    stored = await routing.sql(
        "SELECT event_id FROM routing.message WHERE id = :id", id=uuid.UUID(reply_id)
    )
    sent = await message_sent(routing, str(stored[0]["event_id"]))
    await routing.publish(
        status(sent, MessageStatus.DELIVERED, status_of=uuid.UUID(sent["event_id"]), raw_ref="p-1")
    )
    await expect(reply.locator(".tick")).to_have_attribute("data-status", "delivered", timeout=WAIT)
    card = page.locator("#conversations .conversation")
    await expect(card).to_contain_text("answered", timeout=WAIT)

    # The customer writes again: it appears without a reload.
    await routing.publish(
        interaction(
            provider=provider,
            conversation_key=key,
            customer=customer,
            content=Content(text="It is order 5521."),
        )
    )
    await expect(page.locator("#transcript .msg.customer .text")).to_have_text(
        [question, "It is order 5521."], timeout=WAIT
    )
    await expect(card).to_contain_text("waiting", timeout=WAIT)

    # A canned response: "/" and a filter, arrows pick, Enter inserts.
    await page.fill("#reply", "/ref")
    await expect(page.locator("#canned .canned-item")).to_have_count(2)
    await page.fill("#reply", "/refund-l")
    await expect(page.locator("#canned .canned-item")).to_have_count(1)
    await page.press("#reply", "Enter")
    await expect(page.locator("#reply")).to_have_value("Refunds take up to five days.")
    await page.fill("#reply", "/ref")
    await page.press("#reply", "ArrowDown")
    await page.press("#reply", "ArrowDown")
    await expect(page.locator("#canned .canned-item.active")).to_contain_text("/refund ")
    await page.press("#reply", "Enter")
    await expect(page.locator("#reply")).to_have_value("Your refund is on its way.")
    await page.fill("#reply", "")

    # An internal note, then the screenshot of a conversation in full.
    await page.check("#note-mode")
    await page.fill("#reply", "Carrier lost it; offer a refund.")
    await page.press("#reply", "Enter")
    await expect(page.locator("#transcript .msg.note .text")).to_have_text(
        "Carrier lost it; offer a refund.", timeout=WAIT
    )
    await page.uncheck("#note-mode")
    await page.screenshot(path=str(shots(tmp_path) / "console-agent.png"))

    # Transfer to Bob with a note; Bob, in his own browser, sees the offer, its note, the note
    # in the transcript, and resolves.
    bob_context, bob_page = await console_of(browser, routing, bob)
    await page.click("#transfer-box summary")
    await page.select_option("#transfer-target", f"agent:{bob.id}")
    await page.fill("#transfer-note", "VIP customer, refund approved")
    await page.click("#transfer")
    await expect(page.locator("#conversations .conversation")).to_have_count(0, timeout=WAIT)
    bob_offer = bob_page.locator("#offers .offer")
    await expect(bob_offer.locator(".offer-note")).to_have_text(
        "Note: VIP customer, refund approved", timeout=WAIT
    )
    await bob_offer.locator(".accept").click()
    await expect(bob_page.locator("#transcript .msg.note .text")).to_have_text(
        "Carrier lost it; offer a refund.", timeout=WAIT
    )
    await expect(bob_page.locator("#transcript .msg.agent .text")).to_have_text(
        "Sorry to hear that! Let me check."
    )
    await bob_page.click("#resolve")
    await expect(bob_page.locator("#conversations .conversation")).to_have_count(0, timeout=WAIT)
    await routing.conversation_in(key, "resolved")
    await expect(queue_cell(supervisor, queue, "assigned")).to_have_text("0", timeout=WAIT)
    await expect(
        supervisor.locator(f'#agents tr[data-agent="{alice.id}"] .agent-status')
    ).to_have_text("available")

    # Signing out ends the session: the page is back to sign-in, the API refuses it.
    await page.click("#signout")
    await expect(page.locator("#signin-view")).to_be_visible(timeout=WAIT)
    await page.reload()
    await expect(page.locator("#signin-view")).to_be_visible(timeout=WAIT)
    for context in (alice_context, bob_context, supervisor_context):
        await context.close()


async def test_a_supervisor_offers_a_waiting_conversation_and_sets_an_agent_away(
    browser: Browser, routing: Routing
) -> None:
    t = tag()
    provider = f"console-{t}"
    queue = (await routing.queue(providers=[provider], required_skills=[t]))["name"]
    carol = await routing.agent(name=f"Carol {t}", status="available")
    key = f"{provider}:{uuid.uuid4().hex}"
    customer = Customer(id=f"visitor-{t}", display_name=f"Eve {t}", kind="session")
    await routing.publish(interaction(provider=provider, conversation_key=key, customer=customer))
    context, page = await admin_console(browser, routing)
    await expect(queue_cell(page, queue, "waiting")).to_have_text("1", timeout=WAIT)
    row = page.locator("#waiting tr", has_text=f"Eve {t}")
    await row.locator("select").select_option(carol.id)
    await row.locator(".offer-to").click()
    await expect(queue_cell(page, queue, "offered")).to_have_text("1", timeout=WAIT)
    offer = await carol.offer_for(key)
    assert offer["conversation_key"] == key

    await page.locator(f'#agents tr[data-agent="{carol.id}"] .set-away').click()
    await expect(page.locator(f'#agents tr[data-agent="{carol.id}"] .agent-status')).to_have_text(
        "away", timeout=WAIT
    )
    # Her pending offer went back: the conversation waits again.
    await expect(queue_cell(page, queue, "waiting")).to_have_text("1", timeout=WAIT)
    await context.close()


async def test_customer_text_is_shown_as_text_on_a_phone(
    browser: Browser, routing: Routing, tmp_path: Path
) -> None:
    t = tag()
    provider = f"console-{t}"
    await routing.queue(providers=[provider], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    context, page = await console_of(browser, routing, agent, viewport=PHONE)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))
    attack = '<img src=x onerror="window.pwned=1;alert(1)"><script>window.pwned=2</script>'
    name = '<b onmouseover="window.pwned=3">Mallory</b>'
    key = f"{provider}:{uuid.uuid4().hex}"
    customer = Customer(id=f"visitor-{t}", display_name=name, kind="session")
    await routing.publish(
        interaction(
            provider=provider,
            conversation_key=key,
            customer=customer,
            content=Content(
                text=attack,
                attachments=(Attachment(name="<i>x</i>.png", content_type="image/png", size=2048),),
            ),
        )
    )
    await routing.publish(
        interaction(
            provider=provider,
            conversation_key=key,
            automated=True,
            content=Content(text="[bot] <b>We got your message</b>"),
        )
    )
    offer = page.locator("#offers .offer")
    await expect(offer.locator(".preview")).to_have_text(attack, timeout=WAIT)
    await expect(offer.locator(".customer")).to_have_text(name)
    await offer.locator(".accept").click()
    # On a phone the conversation takes the screen, with a way back to the list.
    await expect(page.locator("#transcript .msg.customer .text")).to_have_text(attack, timeout=WAIT)
    await expect(page.locator("#sidebar")).to_be_hidden()
    await expect(page.locator("#back")).to_be_visible()
    await expect(page.locator("#transcript .attachment")).to_have_text(
        re.compile(r"^<i>x</i>\.png")
    )
    automated = page.locator("#transcript .msg.automated")
    await expect(automated.locator(".msg-meta")).to_contain_text("Automated (bot)")
    await expect(automated.locator(".text")).to_have_text("[bot] <b>We got your message</b>")
    assert (
        await page.locator(
            "#transcript img, #transcript script, #transcript b, #transcript a"
        ).count()
        == 0
    )
    assert await page.evaluate("window.pwned") is None
    assert dialogs == []
    await page.screenshot(path=str(shots(tmp_path) / "console-phone.png"))
    await page.click("#back")
    await expect(page.locator("#sidebar")).to_be_visible()
    await expect(page.locator("#conversations .customer")).to_have_text(name)
    await context.close()


async def test_a_failed_send_is_retried_with_the_same_reply_id(
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

    # The network drops the first send; the reply stays, marked, with a retry.
    await page.route("**/reply", lambda route: route.abort())
    await page.fill("#reply", "Here is your tracking link.")
    await page.press("#reply", "Enter")
    failed = page.locator("#transcript .msg.send-failed")
    await expect(failed.locator(".retry")).to_be_visible(timeout=WAIT)
    reply_id = await failed.get_attribute("data-id")
    await page.unroute("**/reply")
    await failed.locator(".retry").click()
    sent = page.locator(f'#transcript .msg.agent[data-id="{reply_id}"]')
    await expect(sent.locator(".tick")).to_have_attribute("data-status", "pending", timeout=WAIT)
    await expect(page.locator("#transcript .msg.agent")).to_have_count(1)
    stored = await routing.sql(
        "SELECT id FROM routing.message WHERE conversation_key = :key AND author = 'agent'", key=key
    )
    assert [str(r["id"]) for r in stored] == [reply_id]
    await context.close()


async def test_a_used_link_signs_nobody_in(browser: Browser, routing: Routing) -> None:
    agent = await routing.agent()
    url = routing.url + await signin_url(routing, agent.id)
    first = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    page = await first.new_page()
    await page.goto(url)
    await expect(page.locator("#agent-view")).to_be_visible(timeout=WAIT)
    # The link, forwarded or found in a chat log, is spent: a second browser gets nothing.
    second = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    other = await second.new_page()
    await other.goto(url)
    await expect(other.locator("#signin-message")).to_contain_text("already used", timeout=WAIT)
    assert "signin" not in other.url
    assert await second.cookies() == []
    await first.close()
    await second.close()
