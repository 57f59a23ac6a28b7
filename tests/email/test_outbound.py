"""Agents' replies leave by SMTP, threaded, once; every outcome, and a bounce, is published as a
message.status (real broker, Postgres and a real SMTP server)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from services.email.app import create_app
from services.email.models import delivery
from services.email.outbound import SmtpTransport
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
from shared.outbound import Failed
from tests.email.smtp_server import SmtpServer, smtp_server
from tests.email.support import bearer, settings_for
from tests.support.kafka import read_topic, values
from tests.support.outbound import delivery_row, statuses_of
from tests.support.server import serving

SUPPORT = "help@acme.example"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture(scope="module")
async def email(
    stack_env: None, fixture_secrets: dict[str, str], smtp: SmtpServer
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(
        fixture_secrets, smtp_url=SecretStr(smtp.url), from_address="replies@acme.example"
    )
    async with (
        serving(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


def customer_mail(
    message_id: str,
    *,
    subject: str,
    in_reply_to: str | None = None,
    references: str = "",
    body: str = "Where is my order?",
) -> bytes:
    mail = EmailMessage()
    mail["Message-ID"] = f"<{message_id}>"
    mail["Date"] = "Mon, 3 Mar 2025 10:00:00 +0000"
    mail["From"] = "Zoë Lee <zoe@example.com>"
    mail["To"] = f"Acme Support <{SUPPORT}>"
    mail["Subject"] = subject
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        mail["References"] = references
    mail.set_content(body)
    return mail.as_bytes()


async def post_mime(client: httpx.AsyncClient, mail: bytes) -> dict[str, Any]:
    response = await client.post("/inbound/mime", content=mail, headers=bearer())
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def reply(conversation_key: str, in_reply_to: str | None, text: str = "Hello") -> InteractionEvent:
    """An agent's reply exactly as routing publishes it."""
    reply_id = uuid.uuid4()
    now = utc_now()
    return InteractionEvent(
        event_id=event_id_for("routing", str(reply_id), EventType.MESSAGE_SENT),
        type=EventType.MESSAGE_SENT,
        channel=Channel.EMAIL,
        provider="mime",
        direction=Direction.OUTBOUND,
        occurred_at=now,
        received_at=now,
        customer=Customer(id="zoe@example.com", display_name="Zoë Lee", kind="email"),
        conversation_key=conversation_key,
        content=Content(text=text, in_reply_to=in_reply_to),
        agent_id="agent-7",
        raw_ref=str(reply_id),
        provider_meta={"customer_last_message_at": now.isoformat()},
    )


async def a_thread(email: httpx.AsyncClient) -> tuple[str, str, str]:
    """A customer's mail and their follow-up: the conversation key and both Message-IDs."""
    run = uuid.uuid4().hex
    first, second = f"first-{run}@example.com", f"second-{run}@example.com"
    opened = await post_mime(email, customer_mail(first, subject="Où est ma commande ?"))
    await post_mime(
        email,
        customer_mail(
            second,
            subject="Re: Où est ma commande ?",
            in_reply_to=first,
            references=f"<{first}>",
        ),
    )
    return opened["conversation_key"], first, second


async def test_a_reply_leaves_threaded_from_the_address_written_to_once(
    email: httpx.AsyncClient, smtp: SmtpServer, producer: EventProducer, broker: str
) -> None:
    key, first, second = await a_thread(email)
    sent = reply(key, second, text="Bonjour Zoë, elle arrive demain ✓")
    await publish_interactions(producer, [sent])
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent, settle=1.0)
    message_id = f"reply-{sent.raw_ref}@acme.example"
    [received] = await smtp.wait_for(message_id)
    assert (received.mail_from, received.rcpt_tos) == (SUPPORT, ["zoe@example.com"])
    mail = received.message
    assert mail["From"] == SUPPORT
    assert mail["To"] == "Zoë Lee <zoe@example.com>"
    assert mail["Subject"] == "Re: Où est ma commande ?"
    assert mail["In-Reply-To"] == f"<{second}>"
    assert mail["References"] == f"<{first}> <{second}>"
    assert mail["Message-ID"] == f"<{message_id}>"
    assert mail["Date"] is not None
    assert mail["Auto-Submitted"] is None
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content_charset() == "utf-8"
    assert mail.get_content().strip() == "Bonjour Zoë, elle arrive demain ✓"
    # Non-ASCII headers travel as encoded words, the body quoted-printable: the wire is ASCII.
    received.data.decode("ascii")
    assert b"Subject: Re: =?utf-8?" in received.data

    assert status["content"]["status"] == "sent"
    assert status["raw_ref"] == message_id
    assert (status["direction"], status["conversation_key"]) == ("outbound", key)

    assert len(await smtp.wait_for(message_id)) == 1


async def test_the_customers_answer_to_a_reply_joins_its_conversation(
    email: httpx.AsyncClient, smtp: SmtpServer, producer: EventProducer, broker: str
) -> None:
    key, _, second = await a_thread(email)
    sent = reply(key, second)
    await publish_interactions(producer, [sent])
    await statuses_of(broker, sent)
    message_id = f"reply-{sent.raw_ref}@acme.example"

    # Only In-Reply-To, as some mailers answer: our Message-ID was recorded in the thread.
    answer = await post_mime(
        email,
        customer_mail(
            f"third-{uuid.uuid4().hex}@example.com",
            subject="Re: Où est ma commande ?",
            in_reply_to=message_id,
            body="Thanks!",
        ),
    )
    assert answer["conversation_key"] == key
    assert not answer["automated"]


async def test_a_451_is_retried_and_then_sent(
    email: httpx.AsyncClient,
    smtp: SmtpServer,
    producer: EventProducer,
    broker: str,
    database: Database,
) -> None:
    key, _, second = await a_thread(email)
    smtp.script("451 4.3.0 Try again later")
    sent = reply(key, second)
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "sent"
    assert len(await smtp.wait_for(f"reply-{sent.raw_ref}@acme.example", 2)) == 2
    row = await delivery_row(database, delivery, sent)
    assert (row.state, row.attempts) == ("sent", 2)
    assert row.last_error == "SMTP 451: 4.3.0 Try again later"


async def test_a_550_ends_failed_with_the_servers_words(
    email: httpx.AsyncClient, smtp: SmtpServer, producer: EventProducer, broker: str
) -> None:
    key, _, second = await a_thread(email)
    smtp.script("550 5.1.1 <zoe@example.com>: Recipient address rejected")
    sent = reply(key, second)
    await publish_interactions(producer, [sent])

    [status] = await statuses_of(broker, sent)
    assert status["content"]["status"] == "failed"
    assert (
        status["content"]["status_reason"]
        == "SMTP 550: 5.1.1 <zoe@example.com>: Recipient address rejected"
    )
    assert status["status_of"] == str(sent.event_id)
    assert "raw_ref" not in status


async def test_without_smtp_url_a_reply_fails_at_once(
    database: Database, fixture_secrets: dict[str, str]
) -> None:
    transport = SmtpTransport(settings_for(fixture_secrets), database)
    async with httpx.AsyncClient() as client:
        outcome = await transport.send(reply("email:x@example.com", None), client)
    assert outcome == Failed("no outbound path configured: set EMAIL_SMTP_URL")


async def test_a_reply_to_an_unknown_thread_needs_a_from_address(
    database: Database, fixture_secrets: dict[str, str], smtp: SmtpServer
) -> None:
    settings = settings_for(fixture_secrets, smtp_url=SecretStr(smtp.url), from_address="")
    transport = SmtpTransport(settings, database)
    unknown = f"email:never-seen-{uuid.uuid4().hex}@example.com"
    async with httpx.AsyncClient() as client:
        outcome = await transport.send(reply(unknown, None), client)
    assert outcome == Failed("no outbound path configured: set EMAIL_FROM_ADDRESS")


def delivery_report(*, sender: str, original_message_id: str, headers_only: bool) -> bytes:
    """A bounce as a mailer sends it: multipart/report with the delivery status and the original."""
    boundary = f"report-{uuid.uuid4().hex}"
    original = (
        f"Message-ID: <{original_message_id}>\r\nFrom: {SUPPORT}\r\nTo: zoe@example.com\r\n"
        "Subject: Re: Où est ma commande ?\r\n"
    )
    returned = (
        f"Content-Type: text/rfc822-headers\r\n\r\n{original}"
        if headers_only
        else f"Content-Type: message/rfc822\r\n\r\n{original}\r\nHello\r\n"
    )
    return (
        f"From: {sender}\r\nTo: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <bounce-{uuid.uuid4().hex}@mx.example.net>\r\n"
        "Date: Mon, 3 Mar 2025 10:05:00 +0000\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f' boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; zoe@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <zoe@example.com>: user unknown\r\n\r\n"
        f"--{boundary}\r\n{returned}\r\n--{boundary}--\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("sender", "headers_only"),
    [
        ("Mail Delivery System <MAILER-DAEMON@mx.example.net>", False),
        # As real mailers send them: no address at all. Accepted, automated.
        ("MAILER-DAEMON <>", True),
    ],
)
async def test_a_bounce_of_a_reply_marks_it_failed(
    email: httpx.AsyncClient,
    smtp: SmtpServer,
    producer: EventProducer,
    broker: str,
    database: Database,
    sender: str,
    headers_only: bool,
) -> None:
    key, _, second = await a_thread(email)
    sent = reply(key, second)
    await publish_interactions(producer, [sent])
    await statuses_of(broker, sent, status="sent")
    message_id = f"reply-{sent.raw_ref}@acme.example"

    bounce = await post_mime(
        email,
        delivery_report(sender=sender, original_message_id=message_id, headers_only=headers_only),
    )
    assert bounce["automated"] is True

    [failed] = await statuses_of(broker, sent, status="failed")
    assert failed["content"]["status_reason"] == "5.1.1 <zoe@example.com>: user unknown"
    assert failed["raw_ref"] == message_id
    assert failed["conversation_key"] == key
    assert failed["direction"] == "outbound"
    row = await delivery_row(database, delivery, sent)
    assert (row.state, row.last_error) == ("failed", "5.1.1 <zoe@example.com>: user unknown")


async def test_a_mailer_daemon_without_address_is_an_automated_customer(
    email: httpx.AsyncClient, broker: str
) -> None:
    bounce = await post_mime(
        email,
        delivery_report(
            sender="MAILER-DAEMON <>",
            original_message_id=f"unknown-{uuid.uuid4().hex}@elsewhere.example",
            headers_only=True,
        ),
    )
    assert bounce["automated"] is True
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(v["event_id"] == bounce["event_id"] for v in values(rs)),
    )
    [event] = [v for v in values(records) if v["event_id"] == bounce["event_id"]]
    assert event["customer"] == {"id": "MAILER-DAEMON", "kind": "email", "verified": False}
    assert event["automated"] is True
