"""Erasure across real services: a customer writes by website chat, email, SMS and WhatsApp,
an agent answers on each channel, an admin erases the contact, and afterwards no table of any
service holds the customer's name, address, number or words, while metrics still counts the
conversations (under pseudonyms)."""

from __future__ import annotations

import email.utils
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from services.chat.app import create_app as create_chat
from services.email.app import create_app as create_email
from services.metrics.app import create_app as create_metrics
from services.metrics.models import conversation_fact, erased_key
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
from shared.signatures import hmac_sha256_hex
from tests.chat.conftest import environment
from tests.email.smtp_server import SmtpServer, smtp_server
from tests.email.support import bearer, settings_for
from tests.factories import interaction
from tests.routing.support import ADMIN_TOKEN, eventually, routing_settings
from tests.support.emulator import Answer, ProviderEmulator
from tests.support.kafka import group_at_end
from tests.support.privacy import SCHEMAS, rows_holding
from tests.support.server import serving

PUBLIC_BASE = "https://phone.example.com"
TWILIO_SID = "AC0000000000000000000000000000erase"
OUR_NUMBER = "+14155550100"
MESSAGES_PATH = f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
#: The development default of SWITCHBOARD_PSEUDONYM_SECRET, which every service here uses.
SECRET = SecretStr("dev-pseudonym-secret")
#: Where the customer writes: (channel, provider).
CHANNELS = (("chat", "webchat"), ("email", "mime"), ("phone", "twilio_sms"), ("social", "whatsapp"))
#: Our WhatsApp business number's id.
WHATSAPP_NUMBER_ID = "106540352242922"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
def privacy_env(
    stack_env: None, emulator: ProviderEmulator, fixture_secrets: dict[str, str]
) -> Iterator[None]:
    """Connectors pointed at the emulator, on consumer groups of this module's own."""
    group = uuid.uuid4().hex[:8]
    with environment(
        {
            "CHAT_REPLIES_GROUP": f"chat-replies-{group}",
            "CHAT_OUTBOUND_GROUP": f"chat-outbound-{group}",
            "SOCIAL_OUTBOUND_GROUP": f"social-outbound-{group}",
            "SOCIAL_META_APP_SECRET": fixture_secrets["meta_app_secret"],
            "SOCIAL_META_GRAPH_URL": emulator.url,
            "SOCIAL_WHATSAPP_TOKEN": "whatsapp-erasure-test",
            "PHONE_TWILIO_AUTH_TOKEN": fixture_secrets["twilio_auth_token"],
            "PHONE_PUBLIC_BASE_URL": PUBLIC_BASE,
            "PHONE_TWILIO_API_URL": emulator.url,
            "PHONE_TWILIO_ACCOUNT_SID": TWILIO_SID,
            "PHONE_OUTBOUND_GROUP": f"phone-outbound-{group}",
            "PHONE_ACCEPTED_GROUP": f"phone-accepted-{group}",
            **{
                f"{prefix}_PRIVACY_GROUP": f"{prefix.lower()}-privacy-{group}"
                for prefix in ("CHAT", "EMAIL", "PHONE", "SOCIAL", "METRICS", "ROUTING")
            },
        }
    ):
        yield


@dataclass
class Stack:
    """The six services, served; their base URLs by name."""

    urls: dict[str, str]
    admin: httpx.AsyncClient
    smtp: SmtpServer
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self, service: str, **headers: str) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=self.urls[service], headers=headers, timeout=30)
        self.clients.append(client)
        return client


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


@dataclass(frozen=True)
class Customer:
    """Everything identifying about one customer, each part unique to the test."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    @property
    def name(self) -> str:
        return f"Ada Lovelace{self.tag}"

    @property
    def address(self) -> str:
        return f"ada.{self.tag}@example.org"

    @property
    def number(self) -> str:
        return f"+1415{uuid.UUID(int=int(self.tag, 16)).int % 10**7:07d}"

    def words(self, where: str) -> str:
        return f"{where}-secret-{self.tag}"

    @property
    def needles(self) -> list[str]:
        """What must be gone: name, address, the number's digits, every text written."""
        texts = ["chat", "mail", "subject", "sms", "whatsapp", "page", "order", "reply"]
        return [self.name, self.address, self.number.lstrip("+"), self.tag] + [
            self.words(t) for t in texts
        ]


async def agent_for_every_channel(stack: Stack, skill: str) -> httpx.AsyncClient:
    """An available agent with ``skill``, and a queue of each of ``CHANNELS`` requiring it."""
    for channel, provider in CHANNELS:
        queue = await stack.admin.post(
            "/admin/queues",
            json={
                "name": f"{provider}-{skill}",
                "channel": channel,
                "providers": [provider],
                "required_skills": [skill],
                "priority": 1000,
            },
        )
        assert queue.status_code == 201, queue.text
    created = await stack.admin.post(
        "/admin/agents",
        json={
            "name": "Grace",
            "status": "available",
            "skills": [skill],
            "capacity": {"chat": 5, "email": 5, "phone": 5, "social": 5},
        },
    )
    assert created.status_code == 201, created.text
    return stack.client("routing", Authorization=f"Bearer {created.json()['token']}")


async def write_on_every_channel(
    stack: Stack, customer: Customer, fixture_secrets: dict[str, str]
) -> tuple[str, str]:
    """The customer opens a website chat, sends a mail, an SMS and a WhatsApp message; the
    chat's token and session id."""
    chat = stack.client("chat")
    opened = await chat.post(
        "/chat/sessions",
        json={
            "name": customer.name,
            "email": customer.address,
            "page_url": f"https://shop.example.com/{customer.words('page')}",
            "attributes": {"order": customer.words("order")},
        },
    )
    assert opened.status_code == 201, opened.text
    token: str = opened.json()["token"]
    session_id: str = opened.json()["session_id"]
    said = await chat.post(
        "/chat/messages",
        json={"text": customer.words("chat"), "client_message_id": "m-1"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert said.status_code == 202, said.text

    mail = EmailMessage()
    mail["Message-ID"] = f"<{customer.tag}@mail.example.org>"
    mail["Date"] = email.utils.formatdate(usegmt=True)
    mail["From"] = f"{customer.name} <{customer.address}>"
    mail["To"] = "Acme Support <help@acme.example>"
    mail["Subject"] = customer.words("subject")
    mail.set_content(customer.words("mail"))
    sent = await stack.client("email").post("/inbound/mime", content=bytes(mail), headers=bearer())
    assert sent.status_code == 200, sent.text

    params = {
        "MessageSid": f"SM{customer.tag}",
        "AccountSid": TWILIO_SID,
        "From": customer.number,
        "To": OUR_NUMBER,
        "Body": customer.words("sms"),
        "NumMedia": "0",
    }
    signature = RequestValidator(fixture_secrets["twilio_auth_token"]).compute_signature(
        PUBLIC_BASE + "/twilio/sms", params
    )
    sms = await stack.client("phone").post(
        "/twilio/sms",
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    assert sms.status_code == 200, sms.text

    whatsapp = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "15550783881",
                                "phone_number_id": WHATSAPP_NUMBER_ID,
                            },
                            "contacts": [
                                {
                                    "profile": {"name": customer.name},
                                    "wa_id": customer.number.lstrip("+"),
                                }
                            ],
                            "messages": [
                                {
                                    "from": customer.number.lstrip("+"),
                                    "id": f"wamid.{customer.tag}",
                                    "timestamp": str(int(time.time())),
                                    "type": "text",
                                    "text": {"body": customer.words("whatsapp")},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(whatsapp).encode()
    meta = await stack.client("social").post(
        "/webhooks/meta",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256="
            + hmac_sha256_hex(fixture_secrets["meta_app_secret"], body),
        },
    )
    assert meta.status_code == 200, meta.text
    return token, session_id


async def answer_every_offer(agent: httpx.AsyncClient, customer: Customer) -> list[str]:
    """Accept the offers of every channel and reply to each; once every reply that has a delivery is
    settled, the conversation keys."""

    async def all_offered() -> list[dict[str, Any]] | None:
        offers: list[dict[str, Any]] = (await agent.get("/agent/offers")).json()
        return offers if len(offers) == len(CHANNELS) else None

    keys = []
    for offer in await eventually(all_offered, what="an offer per channel"):
        accepted = await agent.post(f"/agent/offers/{offer['id']}/accept")
        assert accepted.status_code == 200, accepted.text
        keys.append(offer["conversation_key"])
        reply = {"text": customer.words("reply"), "reply_id": str(uuid.uuid4())}
        path = f"/agent/conversations/{offer['conversation_id']}"
        answered = await agent.post(f"{path}/reply", json=reply)
        assert answered.status_code == 202, answered.text

        if offer["conversation_key"].startswith("webchat:"):
            continue  # the widget has no delivery status: its history shows the reply

        async def settled(path: str = path) -> bool:
            messages = (await agent.get(f"{path}/messages")).json()["messages"]
            return messages[-1].get("status") in ("sent", "failed")

        await eventually(settled, what=f"the delivery of the reply on {offer['conversation_key']}")
    return keys


async def facts_of(database: Database, keys: list[str]) -> dict[str, Any]:
    async with database.transaction() as session:
        rows = await session.execute(
            select(conversation_fact).where(conversation_fact.c.conversation_key.in_(keys))
        )
        return {row.conversation_key: row for row in rows}


async def contacts_of(database: Database, conversation_ids: list[str]) -> list[str]:
    async with database.transaction() as session:
        rows = await session.execute(
            text("SELECT DISTINCT contact_id FROM routing.conversation WHERE id = ANY(:ids)"),
            {"ids": [uuid.UUID(i) for i in conversation_ids]},
        )
        return sorted(str(r.contact_id) for r in rows)


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
