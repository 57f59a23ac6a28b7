"""Every provider fixture through its endpoint into the real broker, checked field by field."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest

from services.email.app import create_app
from tests.email.support import (
    SENDGRID_AUTH,
    basic,
    bearer,
    mailgun_signature,
    mime_event_id,
    published,
    settings_for,
    too_old,
)
from tests.support.server import serving

pytestmark = pytest.mark.usefixtures("stack_env")

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_the_mailgun_fixture_is_published_with_its_own_old_signature(
    broker: str, provider_fixtures: Path, fixture_secrets: dict[str, str]
) -> None:
    body = (provider_fixtures / "email" / "mailgun_parsed.form").read_bytes()
    signed_at = int(dict(parse_qsl(body.decode()))["timestamp"])
    # The fixture's timestamp is years old: this connector is told to accept that age.
    tolerance = time.time() - signed_at + 3600
    settings = settings_for(fixture_secrets, mailgun_timestamp_tolerance_s=tolerance)
    async with (
        serving(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        response = await client.post("/inbound/mailgun", content=body, headers=FORM)
    assert response.status_code == 200, response.text
    event_id = mime_event_id("mailgun", "CAB123@mail.example.org")
    assert response.json() == {
        "event_id": event_id,
        "conversation_key": "email:abc@mg.example.com",
        "automated": False,
        "parse_warnings": [too_old("2018-06-14T20:07:34Z")],
    }
    event = (await published(broker, {event_id}))[event_id]
    assert event == {
        "event_id": event_id,
        "schema_version": 1,
        "type": "message.received",
        "channel": "email",
        "provider": "mailgun",
        "direction": "inbound",
        # The fixture's Date is years old: the time received stands in for it.
        "occurred_at": event["received_at"],
        "received_at": event["received_at"],
        # Without Mailgun's verdict headers (not configured here), nobody is verified.
        "customer": {
            "id": "alice@example.org",
            "display_name": "Alice Example",
            "kind": "email",
            "verified": False,
        },
        "conversation_key": "email:abc@mg.example.com",
        "content": {
            "subject": "Re: Order #1234",
            "text": "Thanks, that worked!\n\nOn Mon, Bob wrote:\n> Try restarting",
            "stripped_text": "Thanks, that worked!",
            "html": False,
            "content_type": "text",
            "attachments": [],
            "in_reply_to": "abc@mg.example.com",
        },
        "automated": False,
        "parse_warnings": [too_old("2018-06-14T20:07:34Z")],
        "raw_ref": "CAB123@mail.example.org",
        "provider_meta": {
            "recipient": "support@mg.example.com",
            "envelope_sender": "alice@example.org",
        },
    }


async def test_mailgun_body_mime_is_parsed_as_the_whole_message(
    broker: str,
    provider_fixtures: Path,
    fixture_secrets: dict[str, str],
    email_client: httpx.AsyncClient,
) -> None:
    mime = (provider_fixtures / "email" / "raw_utf8_alternative.eml").read_bytes()
    fields = {
        **mailgun_signature(fixture_secrets["mailgun_signing_key"]),
        "recipient": "support@mg.example.com",
        "sender": "bob@example.net",
        "body-mime": mime.decode(),
    }
    response = await email_client.post(
        "/inbound/mailgun", files={k: (None, v) for k, v in fields.items()}
    )
    assert response.status_code == 200, response.text
    event_id = mime_event_id("mailgun", "thread-root-1@example.net")
    event = (await published(broker, {event_id}))[event_id]
    assert event["customer"] == {
        "id": "bob@example.net",
        "display_name": "Boáb Núñez",
        "kind": "email",
        "verified": False,
    }
    assert event["conversation_key"] == "email:thread-root-1@example.net"
    assert event["occurred_at"] == event["received_at"]
    assert event["content"] == {
        "subject": "Factura nº 42 no llegó",
        "text": "Hola, la factura nº 42 no llegó.",
        "stripped_text": "Hola, la factura nº 42 no llegó.",
        "html": False,
        "content_type": "text",
        "attachments": [],
    }
    assert event["provider_meta"] == {
        "recipient": "support@mg.example.com",
        "envelope_sender": "bob@example.net",
        "to": "support@example.com",
    }
    assert event["raw_ref"] == "thread-root-1@example.net"
    assert event["parse_warnings"] == [too_old("2025-03-03T10:00:00Z")]


async def test_the_sendgrid_parsed_fixture_is_published(
    broker: str, provider_fixtures: Path, email_client: httpx.AsyncClient
) -> None:
    fields = json.loads((provider_fixtures / "email" / "sendgrid_parsed.fields.json").read_text())
    response = await email_client.post(
        "/inbound/sendgrid",
        files={name: (None, value) for name, value in fields.items()},
        headers=basic(*SENDGRID_AUTH),
    )
    assert response.status_code == 200, response.text
    event_id = mime_event_id("sendgrid", "CAB9@mail.example.org")
    event = (await published(broker, {event_id}))[event_id]
    assert event == {
        "event_id": event_id,
        "schema_version": 1,
        "type": "message.received",
        "channel": "email",
        "provider": "sendgrid",
        "direction": "inbound",
        "occurred_at": event["received_at"],
        "received_at": event["received_at"],
        # SendGrid says SPF (of the envelope sender, example.org) and DKIM of example.org passed.
        "customer": {
            "id": "alice@example.org",
            "display_name": "Alice Example",
            "kind": "email",
            "verified": True,
        },
        "conversation_key": "email:t-42@parse.example.com",
        "content": {
            "subject": "Re: Ticket 42",
            "text": "Still broken.",
            "stripped_text": "Still broken.",
            "html": False,
            "content_type": "text",
            "attachments": [],
            "in_reply_to": "t-42@parse.example.com",
        },
        "automated": False,
        "parse_warnings": [too_old("2025-03-03T10:00:00Z")],
        "raw_ref": "CAB9@mail.example.org",
        "provider_meta": {
            "to": "support@parse.example.com",
            "spam_score": "0.1",
            "envelope_sender": "alice@example.org",
        },
    }


async def test_sendgrid_raw_mode_parses_the_email_field(
    broker: str, provider_fixtures: Path, email_client: httpx.AsyncClient
) -> None:
    mime = (provider_fixtures / "email" / "raw_reply_latin1_attachment.eml").read_bytes()
    fields = {
        "to": "support@example.com",
        "from": "Bob <bob@example.net>",
        "envelope": json.dumps({"to": ["support@example.com"], "from": "bob@example.net"}),
        "spam_score": "0.3",
    }
    files: dict[str, tuple[None, str | bytes]] = {k: (None, v) for k, v in fields.items()}
    files["email"] = (None, mime)
    response = await email_client.post(
        "/inbound/sendgrid", files=files, headers=basic(*SENDGRID_AUTH)
    )
    assert response.status_code == 200, response.text
    event_id = mime_event_id("sendgrid", "reply-2@example.net")
    event = (await published(broker, {event_id}))[event_id]
    assert event["customer"] == {
        "id": "bob@example.net",
        "display_name": "Bob",
        "kind": "email",
        "verified": False,
    }
    assert event["conversation_key"] == "email:thread-root-1@example.net"
    assert event["content"] == {
        "subject": "Re: Factura",
        "text": "Aquí está el recibo.\n\nOn Mon, Support wrote:\n> ¿Puede enviar el recibo?",
        "stripped_text": "Aquí está el recibo.",
        "html": False,
        "content_type": "text",
        "in_reply_to": "agent-1@example.com",
        "attachments": [
            {
                "name": "recibo.pdf",
                "content_type": "application/pdf",
                "size": len(b"%PDF-1.4\n%fake receipt\n"),
                "sha256": hashlib.sha256(b"%PDF-1.4\n%fake receipt\n").hexdigest(),
                "inline": False,
            }
        ],
    }
    assert event["provider_meta"] == {
        "to": "support@example.com",
        "spam_score": "0.3",
        "envelope_sender": "bob@example.net",
    }


async def test_the_postmark_fixture_is_published(
    broker: str,
    provider_fixtures: Path,
    fixture_secrets: dict[str, str],
    email_client: httpx.AsyncClient,
) -> None:
    body = (provider_fixtures / "email" / "postmark_inbound.json").read_bytes()
    user, password = fixture_secrets["postmark_basic_auth"].split(":", 1)
    response = await email_client.post(
        "/inbound/postmark",
        content=body,
        headers={"Content-Type": "application/json", **basic(user, password)},
    )
    assert response.status_code == 200, response.text
    event_id = mime_event_id("postmark", "CAB9@mail.example.org")
    event = (await published(broker, {event_id}))[event_id]
    assert event == {
        "event_id": event_id,
        "schema_version": 1,
        "type": "message.received",
        "channel": "email",
        "provider": "postmark",
        "direction": "inbound",
        "occurred_at": event["received_at"],
        "received_at": event["received_at"],
        # The fixture has no Received-SPF or Authentication-Results.
        "customer": {
            "id": "alice@example.org",
            "display_name": "Alice Example",
            "kind": "email",
            "verified": False,
        },
        "conversation_key": "email:t-42@example.com",
        "content": {
            "subject": "Re: Ticket 42",
            "text": "Still broken.\n\nOn Sun, Support wrote:\n> ...",
            "stripped_text": "Still broken.",
            "html": False,
            "content_type": "text",
            "in_reply_to": "t-42@example.com",
            "attachments": [
                {
                    "name": "log.txt",
                    "content_type": "text/plain",
                    "size": 5,
                    "sha256": hashlib.sha256(b"hello").hexdigest(),
                    "inline": False,
                }
            ],
        },
        "automated": False,
        "parse_warnings": [too_old("2025-03-03T10:00:00Z")],
        "raw_ref": "CAB9@mail.example.org",
        "provider_meta": {
            "postmark_message_id": "22c74902-a0c1-4511-804f-341342852c90",
            "mailbox_hash": "ticket42",
            "original_recipient": "abc123+ticket42@inbound.postmarkapp.com",
            "to": "Support <abc123+ticket42@inbound.postmarkapp.com>",
        },
    }


async def test_the_raw_fixtures_form_one_thread_through_the_mime_endpoint(
    broker: str, provider_fixtures: Path, email_client: httpx.AsyncClient
) -> None:
    ids = {}
    for name in ("raw_utf8_alternative.eml", "raw_reply_latin1_attachment.eml"):
        body = (provider_fixtures / "email" / name).read_bytes()
        response = await email_client.post(
            "/inbound/mime", content=body, headers={"Content-Type": "message/rfc822", **bearer()}
        )
        assert response.status_code == 200, response.text
        ids[name] = response.json()["event_id"]
    root_id = mime_event_id("mime", "thread-root-1@example.net")
    reply_id = mime_event_id("mime", "reply-2@example.net")
    assert ids == {"raw_utf8_alternative.eml": root_id, "raw_reply_latin1_attachment.eml": reply_id}
    events = await published(broker, {root_id, reply_id})
    root, reply = events[root_id], events[reply_id]
    assert (
        root["conversation_key"] == reply["conversation_key"] == "email:thread-root-1@example.net"
    )
    assert root["customer"] == {
        "id": "bob@example.net",
        "display_name": "Boáb Núñez",
        "kind": "email",
        "verified": False,
    }
    assert root["content"]["subject"] == "Factura nº 42 no llegó"
    assert root["provider_meta"] == {
        "to": "support@example.com",
        "envelope_sender": "bob@example.net",
    }
    assert reply["customer"] == {
        "id": "bob@example.net",
        "display_name": "Bob",
        "kind": "email",
        "verified": False,
    }
    assert reply["occurred_at"] == reply["received_at"]
    assert too_old("2025-03-03T11:00:00Z") in reply["parse_warnings"]
    assert reply["content"]["stripped_text"] == "Aquí está el recibo."
    assert reply["content"]["attachments"] == [
        {
            "name": "recibo.pdf",
            "content_type": "application/pdf",
            "size": 23,
            "sha256": hashlib.sha256(b"%PDF-1.4\n%fake receipt\n").hexdigest(),
            "inline": False,
        }
    ]
    assert {root["provider"], reply["provider"]} == {"mime"}
    assert root["automated"] is reply["automated"] is False
