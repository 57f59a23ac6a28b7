"""A customer who writes on every channel and an agent who answers, for the erasure tests
against the six services (tests/platform/test_erasure.py)."""

from __future__ import annotations

import email.utils
import json
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from services.metrics.models import conversation_fact
from shared.db import Database
from shared.signatures import hmac_sha256_hex
from tests.email.smtp_server import SmtpServer
from tests.email.support import bearer
from tests.routing.support import eventually

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
