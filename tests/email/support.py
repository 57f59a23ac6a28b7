"""Helpers of the email connector's tests: signing, posting, reading what was published."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import datetime
from typing import Any

from services.email.settings import EmailSettings
from shared.events import INTERACTIONS_TOPIC, EventType, event_id_for
from shared.signatures import hmac_sha256_hex
from tests.support.kafka import read_topic, values

MIME_TOKEN = "dev-mime-token"  # the development default of EMAIL_MIME_TOKEN
SENDGRID_AUTH = ("sendgrid", "dev-sendgrid-password")  # development defaults


def settings_for(secrets: dict[str, str], **overrides: Any) -> EmailSettings:
    """The connector's settings with the fixtures' secrets, on consumer groups of its own.

    A group shared with apps that already stopped waits for their sessions to time out on
    the embedded broker.
    """
    user, password = secrets["postmark_basic_auth"].split(":", 1)
    fields: dict[str, Any] = {
        "mailgun_signing_key": secrets["mailgun_signing_key"],
        "postmark_username": user,
        "postmark_password": password,
        "outbound_group": f"email-outbound-{uuid.uuid4().hex[:8]}",
        "privacy_group": f"email-privacy-{uuid.uuid4().hex[:8]}",
    }
    fields.update(overrides)
    return EmailSettings(**fields)


def too_old(date: str) -> str:
    """The warning of a mail whose Date (ISO 8601) is more than a day before it arrived."""
    moment = datetime.fromisoformat(date).isoformat()
    return (
        f"Date header {moment} is more than 86400 s before the time received: "
        "occurred_at is the time received"
    )


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(token: str = MIME_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mailgun_signature(key: str, timestamp: int | None = None) -> dict[str, str]:
    """Fresh timestamp, token and signature fields, signed as Mailgun signs them."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    token = uuid.uuid4().hex + uuid.uuid4().hex[:18]
    return {
        "timestamp": stamp,
        "token": token,
        "signature": hmac_sha256_hex(key, (stamp + token).encode()),
    }


def mime_message(
    message_id: str, *, sender: str = "Pat <pat@example.com>", body: str = "Hi"
) -> bytes:
    """A small valid message with the given Message-ID."""
    return (
        f"Message-ID: <{message_id}>\nDate: Mon, 3 Mar 2025 10:00:00 +0000\nFrom: {sender}\n"
        f"To: support@example.com\nSubject: Test {message_id}\nContent-Type: text/plain\n\n{body}\n"
    ).encode()


def mime_event_id(provider: str, message_id: str) -> str:
    return str(event_id_for(provider, message_id, EventType.MESSAGE_RECEIVED))


async def published(
    broker: str, event_ids: set[str], *, settle: float = 0.0
) -> dict[str, dict[str, Any]]:
    """The published events among ``event_ids``, by id, once all of them are on the topic."""

    def seen_all(records: list[Any]) -> bool:
        return event_ids <= {v["event_id"] for v in values(records)}

    records = await read_topic(broker, INTERACTIONS_TOPIC, until=seen_all, settle=settle)
    return {v["event_id"]: v for v in values(records) if v["event_id"] in event_ids}


async def published_ids(broker: str, sentinel: str, *, settle: float = 1.0) -> set[str]:
    """Every event id on the topic once ``sentinel`` is there, and ``settle`` seconds more."""
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(json.loads(r.value)["event_id"] == sentinel for r in rs),
        settle=settle,
    )
    return {v["event_id"] for v in values(records)}
