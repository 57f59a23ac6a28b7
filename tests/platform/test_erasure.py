"""Erasure across real services: a customer writes by website chat, email, SMS and WhatsApp,
an agent answers on each channel, an admin erases the contact, and afterwards no table of any
service holds the customer's name, address, number or words, while metrics still counts the
conversations (under pseudonyms)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from services.chat.app import create_app as create_chat
from services.email.app import create_app as create_email
from services.metrics.app import create_app as create_metrics
from services.metrics.models import erased_key
from services.metrics.settings import MetricsSettings
from services.phone.app import create_app as create_phone
from services.routing.app import create_app as create_routing
from services.social.app import create_app as create_social
from shared.clock import utc_now
from shared.db import Database
from shared.events import (
    INTERACTIONS_TOPIC,
    PRIVACY_TOPIC,
    ROUTING_TOPIC,
    Channel,
    ErasedConversation,
    ErasureEvent,
)
from shared.kafka import EventProducer, OutgoingRecord, publish_interactions
from shared.privacy import pseudonym
from tests.chat.conftest import environment
from tests.email.smtp_server import SmtpServer, smtp_server
from tests.email.support import settings_for
from tests.factories import interaction
from tests.routing.support import ADMIN_TOKEN, eventually, routing_settings
from tests.support.emulator import Answer, ProviderEmulator
from tests.support.erasure import (
    CHANNELS,
    MESSAGES_PATH,
    OUR_NUMBER,
    PUBLIC_BASE,
    SECRET,
    TWILIO_SID,
    WHATSAPP_NUMBER_ID,
    Customer,
    Stack,
    agent_for_every_channel,
    answer_every_offer,
    contacts_of,
    facts_of,
    write_on_every_channel,
)
from tests.support.groups import own_groups
from tests.support.kafka import group_at_end
from tests.support.privacy import SCHEMAS, rows_holding
from tests.support.server import serving


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def privacy_env(
    stack_env: None, emulator: ProviderEmulator, fixture_secrets: dict[str, str]
) -> Iterator[None]:
    """Connectors pointed at the emulator, on consumer groups of this module's own."""
    with environment(
        {
            **own_groups("chat", "email", "phone", "social", "metrics"),
            "SOCIAL_META_APP_SECRET": fixture_secrets["meta_app_secret"],
            "SOCIAL_META_GRAPH_URL": emulator.url,
            "SOCIAL_WHATSAPP_TOKEN": "whatsapp-erasure-test",
            "PHONE_TWILIO_AUTH_TOKEN": fixture_secrets["twilio_auth_token"],
            "PHONE_PUBLIC_BASE_URL": PUBLIC_BASE,
            "PHONE_TWILIO_API_URL": emulator.url,
            "PHONE_TWILIO_ACCOUNT_SID": TWILIO_SID,
        }
    ):
        yield


@pytest.fixture(scope="module")
async def stack(
    privacy_env: None, broker: str, fixture_secrets: dict[str, str], smtp: SmtpServer
) -> AsyncIterator[Stack]:
    routing = routing_settings(
        consumer_group=await group_at_end(broker, [INTERACTIONS_TOPIC], "routing-erasure")
    )
    metrics = MetricsSettings(
        consumer_group=await group_at_end(
            broker, [INTERACTIONS_TOPIC, ROUTING_TOPIC], "metrics-erasure"
        )
    )
    email_settings = settings_for(
        fixture_secrets, smtp_url=SecretStr(smtp.url), from_address="help@acme.example"
    )
    async with (
        serving(create_routing(routing)) as routing_url,
        serving(create_metrics(metrics)) as metrics_url,
        serving(create_chat()) as chat_url,
        serving(create_email(email_settings)) as email_url,
        serving(create_phone()) as phone_url,
        serving(create_social()) as social_url,
        httpx.AsyncClient(
            base_url=routing_url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30
        ) as admin,
    ):
        urls = {
            "routing": routing_url,
            "metrics": metrics_url,
            "chat": chat_url,
            "email": email_url,
            "phone": phone_url,
            "social": social_url,
        }
        found = Stack(urls=urls, admin=admin, smtp=smtp)
        try:
            yield found
        finally:
            for client in found.clients:
                await client.aclose()


async def test_an_erased_contact_leaves_nothing_identifying_in_any_service(
    stack: Stack,
    database: Database,
    emulator: ProviderEmulator,
    fixture_secrets: dict[str, str],
) -> None:
    customer = Customer()
    emulator.script(MESSAGES_PATH, Answer(201, {"sid": f"SM{uuid.uuid4().hex}"}))
    emulator.script(
        f"/{WHATSAPP_NUMBER_ID}/messages",
        Answer(200, {"messages": [{"id": f"wamid.{uuid.uuid4().hex}"}]}),
    )
    agent = await agent_for_every_channel(stack, f"erasure-{uuid.uuid4().hex[:8]}")
    chat_token, session_id = await write_on_every_channel(stack, customer, fixture_secrets)
    needles = [*customer.needles, session_id]
    keys = await answer_every_offer(agent, customer)

    # Metrics has folded each conversation up to its first reply (routing.v1 included).
    async def folded() -> dict[str, Any] | None:
        facts = await facts_of(database, keys)
        replied = [f for f in facts.values() if f.first_reply_at is not None]
        return facts if len(replied) == len(CHANNELS) else None

    before = await eventually(folded, what="metrics' facts of the conversations")
    visitor = stack.client("chat", Authorization=f"Bearer {chat_token}")

    async def reply_reached_the_widget() -> bool:
        history = (await visitor.get("/chat/messages")).json()["messages"]
        return any(m["author"] == "agent" for m in history)

    await eventually(reply_reached_the_widget, what="the agent's reply in the website chat")
    # Before: every service holds something of the customer, which the scan finds.
    holding = await rows_holding(database, needles)
    assert {table.partition(".")[0] for table in holding} == set(SCHEMAS), holding

    # The channels made several contacts (SMS and WhatsApp share the verified number): an
    # admin merges them into one.
    ids = [str(f.conversation_id) for f in before.values()]
    contacts = await contacts_of(database, ids)
    target = contacts[0]
    for source in contacts[1:]:
        merged = await stack.admin.post(
            "/admin/contacts/merge", json={"source_id": source, "target_id": target}
        )
        assert merged.status_code == 200, merged.text
    assert await contacts_of(database, ids) == [target]

    erased = await stack.admin.post(f"/admin/contacts/{target}/erase")
    assert erased.status_code == 202, erased.text
    assert erased.json()["conversations"] == len(CHANNELS)
    again = await stack.admin.post(f"/admin/contacts/{target}/erase")
    assert again.status_code == 202, again.text
    assert again.json() == erased.json()

    async def nothing_left() -> bool:
        return not await rows_holding(database, needles)

    try:
        await eventually(nothing_left, timeout=60, what="every service to erase the customer")
    except AssertionError:
        raise AssertionError(await rows_holding(database, needles)) from None

    # Metrics keeps its numbers: the same facts, under the keys' pseudonyms.
    after = await facts_of(database, [pseudonym(SECRET, key) for key in keys])
    assert {f.conversation_id for f in after.values()} == {
        f.conversation_id for f in before.values()
    }
    for key, fact in before.items():
        kept = after[pseudonym(SECRET, key)]
        assert (kept.opened_at, kept.first_reply_at, kept.channel) == (
            fact.opened_at,
            fact.first_reply_at,
            fact.channel,
        )

    card = (await stack.admin.get(f"/admin/contacts/{target}")).json()
    assert card["display_name"] is None
    assert card["conversations"] == len(CHANNELS)
    assert all(i["value"].startswith("erased:") for i in card["identities"])
    # The visitor's token opens nothing any more.
    assert (await visitor.get("/chat/session")).status_code == 404


async def test_erasing_an_unknown_contact_is_404(stack: Stack) -> None:
    answer = await stack.admin.post(f"/admin/contacts/{uuid.uuid4()}/erase")
    assert answer.status_code == 404, answer.text
    assert answer.json()["error"] == "not_found"


async def test_erasure_needs_the_admin_token(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.urls["routing"]) as anonymous:
        answer = await anonymous.post(f"/admin/contacts/{uuid.uuid4()}/erase")
    assert answer.status_code == 401, answer.text


async def test_metrics_folds_events_still_on_their_way_into_the_pseudonymized_fact(
    stack: Stack, database: Database, producer: EventProducer
) -> None:
    """An erasure that reaches metrics before a conversation's events (they were published
    earlier, metrics lags): the events fold under the pseudonym, never the raw key. The
    erasure delivered twice changes nothing more."""
    key = f"sms:+1415{uuid.uuid4().int % 10**7:07d}:{OUR_NUMBER}"
    erasure = ErasureEvent(
        event_id=uuid.uuid4(),
        occurred_at=utc_now(),
        erasure_id=uuid.uuid4(),
        contact_id=uuid.uuid4(),
        conversations=[
            ErasedConversation(
                conversation_id=uuid.uuid4(),
                conversation_key=key,
                channel=Channel.PHONE,
                provider="twilio_sms",
            )
        ],
    )
    record = OutgoingRecord(PRIVACY_TOPIC, str(erasure.contact_id).encode(), erasure.to_json())
    await producer.publish_many([record, record])
    alias = pseudonym(SECRET, key)

    async def remembered() -> bool:
        async with database.transaction() as session:
            found = await session.scalar(
                select(erased_key.c.pseudonym).where(erased_key.c.pseudonym == alias)
            )
        return found is not None

    await eventually(remembered, what="metrics to remember the erased key")
    late = interaction(
        channel=Channel.PHONE, provider="twilio_sms", conversation_key=key, content=None
    )
    await publish_interactions(producer, [late])

    async def folded() -> dict[str, Any] | None:
        return await facts_of(database, [alias]) or None

    fact = (await eventually(folded, what="the late event's fact"))[alias]
    assert fact.first_inbound_at == late.occurred_at
    assert await facts_of(database, [key]) == {}
