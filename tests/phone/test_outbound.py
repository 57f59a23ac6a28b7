"""Agents' replies leave by Twilio SMS and the generic call source's webhook, once, with every
outcome a message.status; Twilio's status callbacks follow them (real broker, Postgres and a
provider emulator answering as Twilio does)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import Any
from urllib.parse import parse_qsl

import httpx
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from services.phone.models import delivery
from shared.clock import utc_now
from shared.db import Database
from shared.events import (
    INTERACTIONS_TOPIC,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)
from shared.kafka import EventProducer, publish_interactions
from tests.phone.conftest import (
    ACCOUNT_SID,
    GENERIC_OUTBOUND_PATH,
    GENERIC_OUTBOUND_SECRET,
    PUBLIC_BASE,
)
from tests.phone.support import twilio_request
from tests.support.emulator import Answer, ProviderEmulator
from tests.support.kafka import read_topic, values
from tests.support.outbound import statuses_of

MESSAGES_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
OUR_NUMBER = "+14155550100"


def customer_number() -> str:
    """A fresh valid US number, so each test finds its own requests."""
    return f"+1415555{uuid.uuid4().int % 10000:04d}"


def reply(provider: str, customer: str, conversation_key: str) -> InteractionEvent:
    """An agent's reply exactly as routing publishes it."""
    reply_id = uuid.uuid4()
    now = utc_now()
    return InteractionEvent(
        event_id=event_id_for("routing", str(reply_id), EventType.MESSAGE_SENT),
        type=EventType.MESSAGE_SENT,
        channel=Channel.PHONE,
        provider=provider,
        direction=Direction.OUTBOUND,
        occurred_at=now,
        received_at=now,
        customer=Customer(id=customer, kind="phone"),
        conversation_key=conversation_key,
        content=Content(text="Your parcel leaves today"),
        agent_id="agent-7",
        raw_ref=str(reply_id),
    )


def sms_reply(customer: str) -> InteractionEvent:
    return reply("twilio_sms", customer, f"sms:{customer}:{OUR_NUMBER}")


def sms_to(emulator: ProviderEmulator, customer: str) -> list[Any]:
    return [
        r for r in emulator.to(MESSAGES_PATH) if dict(parse_qsl(r.body.decode()))["To"] == customer
    ]


async def test_an_sms_reply_is_sent_from_the_number_the_customer_wrote_to_once(
    phone: httpx.AsyncClient,
    producer: EventProducer,
    broker: str,
    emulator: ProviderEmulator,
    fixture_secrets: dict[str, str],
) -> None:
    emulator.script(MESSAGES_PATH, Answer(201, {"sid": "SM0001", "status": "queued"}))
    customer = customer_number()
    sent = sms_reply(customer)
    await publish_interactions(producer, [sent])
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    [request] = sms_to(emulator, customer)
    assert request.method == "POST"
    login = f"{ACCOUNT_SID}:{fixture_secrets['twilio_auth_token']}".encode()
    assert request.headers["authorization"] == "Basic " + base64.b64encode(login).decode()
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(request.body.decode())) == {
        "To": customer,
        "From": OUR_NUMBER,
        "Body": "Your parcel leaves today",
        "StatusCallback": f"{PUBLIC_BASE}/twilio/sms/status",
    }
    assert status["content"]["status"] == "sent"
    assert status["raw_ref"] == "SM0001"
    assert status["provider"] == "twilio_sms"
    assert status["conversation_key"] == sent.conversation_key


async def test_an_sms_429_is_retried_then_sent(
    phone: httpx.AsyncClient,
    producer: EventProducer,
    broker: str,
    emulator: ProviderEmulator,
    database: Database,
) -> None:
    emulator.script(
        MESSAGES_PATH,
        Answer(
            429,
            {"code": 20429, "message": "Too Many Requests", "status": 429},
            {"Retry-After": "1"},
        ),
        Answer(201, {"sid": "SM0002", "status": "queued"}),
    )
    customer = customer_number()
    sent = sms_reply(customer)
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "sent"
    assert status["raw_ref"] == "SM0002"
    assert len(sms_to(emulator, customer)) == 2
    async with database.transaction() as session:
        row = (
            await session.execute(select(delivery).where(delivery.c.event_id == sent.event_id))
        ).one()
    assert (row.state, row.attempts) == ("sent", 2)
    assert row.last_error == "Too Many Requests (Twilio error 20429)"


async def test_an_invalid_number_ends_as_failed_with_twilios_message(
    phone: httpx.AsyncClient, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    message = "The 'To' number +1415555 is not a valid phone number."
    emulator.script(
        MESSAGES_PATH,
        Answer(400, {"code": 21211, "message": message, "more_info": "", "status": 400}),
    )
    sent = sms_reply(customer_number())
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert status["content"]["status_reason"] == f"{message} (Twilio error 21211)"
    assert status["status_of"] == str(sent.event_id)
    assert "raw_ref" not in status


async def test_a_signed_status_callback_publishes_delivered_once(
    phone: httpx.AsyncClient, broker: str, validator: RequestValidator
) -> None:
    customer = customer_number()
    message_sid = "SM" + uuid.uuid4().hex
    params = {
        "MessageSid": message_sid,
        "SmsSid": message_sid,
        "AccountSid": ACCOUNT_SID,
        "MessageStatus": "delivered",
        "To": customer,
        "From": OUR_NUMBER,
        "ApiVersion": "2010-04-01",
    }
    body, headers = twilio_request(validator, "/twilio/sms/status", params)
    first = await phone.post("/twilio/sms/status", content=body, headers=headers)
    again = await phone.post("/twilio/sms/status", content=body, headers=headers)

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(v.get("raw_ref") == message_sid for v in values(rs)),
        settle=1.0,
    )
    statuses = [v for v in values(records) if v.get("raw_ref") == message_sid]
    assert len({v["event_id"] for v in statuses}) == 1
    status = statuses[0]
    assert status["event_id"] == first.json()["event_ids"][0]
    assert status["type"] == "message.status"
    assert status["direction"] == "outbound"
    assert status["content"]["status"] == "delivered"
    assert status["conversation_key"] == f"sms:{customer}:{OUR_NUMBER}"


async def test_a_failed_status_callback_carries_the_error_code(
    phone: httpx.AsyncClient, validator: RequestValidator
) -> None:
    params = {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "MessageStatus": "undelivered",
        "ErrorCode": "30003",
        "To": customer_number(),
        "From": OUR_NUMBER,
    }
    body, headers = twilio_request(validator, "/twilio/sms/status", params)
    answer = await phone.post("/twilio/sms/status", content=body, headers=headers)
    assert answer.status_code == 200
    [event_id] = answer.json()["event_ids"]
    expected = event_id_for("twilio_sms", f"{params['MessageSid']}:failed", "message.status")
    assert event_id == str(expected)

    params["MessageStatus"] = "sent"
    body, headers = twilio_request(validator, "/twilio/sms/status", params)
    passing = await phone.post("/twilio/sms/status", content=body, headers=headers)
    assert passing.json() == {"event_ids": []}


async def test_a_status_callback_with_a_bad_signature_is_refused(
    phone: httpx.AsyncClient, validator: RequestValidator
) -> None:
    params = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": customer_number()}
    body, headers = twilio_request(validator, "/twilio/sms/status", params)
    forged = await phone.post("/twilio/sms/status", content=body + b"&From=%2B1", headers=headers)
    assert forged.status_code == 401


async def test_a_generic_call_reply_is_posted_signed(
    phone: httpx.AsyncClient, producer: EventProducer, broker: str, emulator: ProviderEmulator
) -> None:
    call_id = uuid.uuid4().hex
    customer = customer_number()
    sent = reply("generic", customer, f"generic:{call_id}")
    emulator.script(GENERIC_OUTBOUND_PATH, Answer(200, {"id": "pbx-msg-1"}))
    await publish_interactions(producer, [sent, sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    [request] = [r for r in emulator.to(GENERIC_OUTBOUND_PATH) if call_id in r.body.decode()]
    webhook_id, timestamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
    assert webhook_id == str(sent.event_id)
    assert abs(int(timestamp) - utc_now().timestamp()) < 60
    signed = f"{webhook_id}.{timestamp}.".encode() + request.body
    digest = hmac.new(GENERIC_OUTBOUND_SECRET.encode(), signed, hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    assert request.json() == {
        "type": "message.sent",
        "source": "generic",
        "call_id": call_id,
        "conversation_key": f"generic:{call_id}",
        "customer": {"id": customer, "kind": "phone"},
        "text": "Your parcel leaves today",
        "in_reply_to": None,
        "reply_id": sent.raw_ref,
        "agent_id": "agent-7",
        "sent_at": sent.occurred_at.isoformat(),
    }
    assert status["content"]["status"] == "sent"
    assert status["raw_ref"] == "pbx-msg-1"
