"""Provider variants beyond the fixtures: Mailgun parsed mode with files, Postmark's RawEmail."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid

import httpx
import pytest

from shared.events import INTERACTIONS_TOPIC
from tests.email.support import (
    basic,
    bearer,
    mailgun_signature,
    mime_event_id,
    mime_message,
    published,
    too_old,
)
from tests.support.kafka import read_topic

pytestmark = pytest.mark.usefixtures("stack_env")


async def test_mailgun_parsed_mode_with_attachments_and_an_auto_reply_header(
    broker: str, fixture_secrets: dict[str, str], email_client: httpx.AsyncClient
) -> None:
    message_id = f"mg-{uuid.uuid4().hex}@mail.example.org"
    root = f"root-{uuid.uuid4().hex}@example.com"
    headers = [
        ["Message-Id", f"<{message_id}>"],
        ["In-Reply-To", f"<{root}>"],
        ["Date", "Tue, 04 Mar 2025 10:00:00 +0100"],
        ["From", "=?utf-8?q?Ren=C3=A9e?= <Renee@Example.ORG>"],
        ["Subject", "=?utf-8?q?Abwesenheitsnotiz=3A_R=C3=BCckfrage?="],
        ["Auto-Submitted", "auto-replied"],
    ]
    fields = {
        **mailgun_signature(fixture_secrets["mailgun_signing_key"]),
        "recipient": "support@mg.example.com",
        "sender": "bounce+renee@example.org",
        "body-html": "<p>I am away.</p>",
        "message-headers": json.dumps(headers),
        "attachment-count": "2",
        "content-id-map": json.dumps({"<logo@x>": "attachment-2"}),
    }
    photo = b"\xff\xd8\xff\xe0 fake jpeg"
    logo = b"\x89PNG fake logo"
    files: dict[str, tuple[str | None, str | bytes] | tuple[str, bytes, str]] = {
        name: (None, value) for name, value in fields.items()
    }
    files["attachment-1"] = ("café.jpg", photo, "image/jpeg")
    files["attachment-2"] = ("logo.png", logo, "image/png")
    response = await email_client.post("/inbound/mailgun", files=files)
    assert response.status_code == 200, response.text
    assert response.json()["automated"] is True
    event_id = mime_event_id("mailgun", message_id)
    event = (await published(broker, {event_id}))[event_id]
    assert event["customer"] == {
        "id": "renee@example.org",
        "display_name": "Renée",
        "kind": "email",
        "verified": False,
    }
    assert event["conversation_key"] == f"email:{root}"
    assert event["occurred_at"] == event["received_at"]
    assert too_old("2025-03-04T09:00:00Z") in event["parse_warnings"]
    assert event["automated"] is True
    assert event["provider_meta"] == {
        "recipient": "support@mg.example.com",
        "envelope_sender": "bounce+renee@example.org",
        "automated_reason": "auto-submitted: auto-replied",
    }
    assert event["content"] == {
        "subject": "Abwesenheitsnotiz: Rückfrage",
        "text": "I am away.",
        "stripped_text": "I am away.",
        "html": True,
        "content_type": "text",
        "in_reply_to": root,
        "attachments": [
            {
                "name": "café.jpg",
                "content_type": "image/jpeg",
                "size": len(photo),
                "sha256": hashlib.sha256(photo).hexdigest(),
                "inline": False,
            },
            {
                "name": "logo.png",
                "content_type": "image/png",
                "size": len(logo),
                "sha256": hashlib.sha256(logo).hexdigest(),
                "inline": True,
            },
        ],
    }


async def test_postmark_raw_email_is_parsed_as_the_whole_message(
    broker: str, fixture_secrets: dict[str, str], email_client: httpx.AsyncClient
) -> None:
    message_id = f"pm-{uuid.uuid4().hex}@mail.example.org"
    raw = mime_message(message_id, sender="Kim <KIM@example.org>", body="Raw wins.")
    payload = {
        "MessageID": str(uuid.uuid4()),
        "From": "someone-else@example.org",
        "Subject": "ignored when RawEmail is there",
        "TextBody": "ignored",
        "StrippedTextReply": "Raw wins.",
        "RawEmail": raw.decode(),
    }
    user, password = fixture_secrets["postmark_basic_auth"].split(":", 1)
    response = await email_client.post(
        "/inbound/postmark", json=payload, headers=basic(user, password)
    )
    assert response.status_code == 200, response.text
    event_id = mime_event_id("postmark", message_id)
    event = (await published(broker, {event_id}))[event_id]
    assert event["customer"] == {
        "id": "kim@example.org",
        "display_name": "Kim",
        "kind": "email",
        "verified": False,
    }
    assert event["content"]["subject"] == f"Test {message_id}"
    assert event["content"]["text"] == "Raw wins."
    assert event["provider_meta"] == {
        "postmark_message_id": payload["MessageID"],
        "to": "support@example.com",
    }


async def test_a_retried_message_keeps_its_event_id(email_client: httpx.AsyncClient) -> None:
    body = mime_message(f"twice-{uuid.uuid4().hex}@example.com")
    headers = bearer()
    first = await email_client.post("/inbound/mime", content=body, headers=headers)
    second = await email_client.post("/inbound/mime", content=body, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["event_id"] == second.json()["event_id"]
    no_id = b"From: a@example.com\nSubject: no id\n\n" + uuid.uuid4().hex.encode()
    hashed = [
        (await email_client.post("/inbound/mime", content=no_id, headers=headers)).json()
        for _ in range(2)
    ]
    assert hashed[0]["event_id"] == hashed[1]["event_id"]
    assert hashed[0]["conversation_key"].startswith("email:sha256:")


async def test_a_large_mail_publishes_metadata_only_and_cuts_long_text(
    broker: str, email_client: httpx.AsyncClient
) -> None:
    message_id = f"large-{uuid.uuid4().hex}@example.com"
    archive = bytes(range(256)) * 32 * 1024  # 8 MiB
    text = "line of a very long log ✓\n" * 20_000  # 520,000 characters, over the 100,000 cap
    encoded = base64.encodebytes(archive).decode()
    mail = (
        f"Message-ID: <{message_id}>\nFrom: big@example.com\nSubject: logs\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="big"\n\n--big\nContent-Type: text/plain\n\n'
        f"{text}\n--big\nContent-Type: application/zip\n"
        'Content-Disposition: attachment; filename="logs.zip"\n'
        f"Content-Transfer-Encoding: base64\n\n{encoded}\n--big--\n"
    ).encode()
    response = await email_client.post("/inbound/mime", content=mail, headers=bearer())
    assert response.status_code == 200, response.text
    event_id = mime_event_id("mime", message_id)
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(json.loads(r.value)["event_id"] == event_id for r in rs),
    )
    (record,) = [r for r in records if json.loads(r.value)["event_id"] == event_id]
    event = json.loads(record.value)
    assert len(record.value) < 1_000_000
    assert len(event["content"]["text"]) == 100_000
    assert "text cut to 100000 characters" in event["parse_warnings"]
    assert event["content"]["attachments"] == [
        {
            "name": "logs.zip",
            "content_type": "application/zip",
            "size": len(archive),
            "sha256": hashlib.sha256(archive).hexdigest(),
            "inline": False,
        }
    ]
