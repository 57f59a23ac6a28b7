"""Whose word makes a mail's sender verified: each provider's verdict, and forged copies of it.

Every mail here claims to come from ``ada@example.org``. The published event's
``customer.verified`` is what routing merges contacts on, so a sender who writes the
provider's verdict headers themselves, or passes SPF or DKIM for their own domain, must
come out unverified.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services.email.app import create_app
from tests.email.support import (
    SENDGRID_AUTH,
    basic,
    mailgun_signature,
    mime_event_id,
    published,
    settings_for,
)
from tests.support.server import serving

pytestmark = pytest.mark.usefixtures("stack_env")

SENDER = "Ada <ada@example.org>"


@pytest.fixture(scope="module")
async def marked_client(fixture_secrets: dict[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A connector told that Mailgun marks every mail with its verdict headers."""
    settings = settings_for(fixture_secrets, mailgun_verdict_headers=True)
    async with (
        serving(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


async def _verified(broker: str, response: httpx.Response, provider: str, message_id: str) -> bool:
    assert response.status_code == 200, response.text
    event_id = mime_event_id(provider, message_id)
    event = (await published(broker, {event_id}))[event_id]
    assert event["customer"]["id"] == "ada@example.org"
    verified: bool = event["customer"]["verified"]
    return verified


@pytest.mark.parametrize(
    ("fields", "verified"),
    [
        ({"SPF": "pass", "dkim": "{@example.org : pass}"}, True),
        ({"SPF": "pass", "envelope_from": "ada@example.org"}, True),
        ({"dkim": "{@mail.example.org : pass}"}, False),  # a subdomain is not aligned
        ({"dkim": "{@attacker.test : pass, @example.org : fail}"}, False),
        ({"SPF": "pass", "envelope_from": "bounce@attacker.test"}, False),
        ({"SPF": "softfail", "envelope_from": "ada@example.org"}, False),
        ({}, False),
    ],
)
async def test_sendgrid_vouches_with_its_spf_and_dkim_fields(
    broker: str, email_client: httpx.AsyncClient, fields: dict[str, str], verified: bool
) -> None:
    message_id = f"{uuid.uuid4()}@example.org"
    envelope_from = fields.pop("envelope_from", "ada@example.org")
    form = {
        "headers": f"Message-ID: <{message_id}>\nFrom: {SENDER}\n"
        # Headers in the message are the sender's: they never count for SendGrid.
        "Authentication-Results: mx.sendgrid.net; dkim=pass header.d=example.org\n",
        "from": SENDER,
        "subject": "Help",
        "text": "Hello",
        "envelope": json.dumps({"to": ["support@example.com"], "from": envelope_from}),
        **fields,
    }
    response = await email_client.post(
        "/inbound/sendgrid",
        files={k: (None, v) for k, v in form.items()},
        headers=basic(*SENDGRID_AUTH),
    )
    assert await _verified(broker, response, "sendgrid", message_id) is verified


DKIM_EXAMPLE = "v=1; a=rsa-sha256; d=example.org; s=s1; h=from; bh=x; b=y"
DKIM_ATTACKER = "v=1; a=rsa-sha256; d=attacker.test; s=s1; h=from; bh=x; b=y"


@pytest.mark.parametrize(
    ("headers", "sender", "marked", "verified"),
    [
        ([("X-Mailgun-Spf", "Pass")], "ada@example.org", True, True),
        (
            [("X-Mailgun-Dkim-Check-Result", "Pass"), ("DKIM-Signature", DKIM_EXAMPLE)],
            "",
            True,
            True,
        ),
        # Mailgun not known to mark mail: a sender's own "Pass" is the only one there is.
        ([("X-Mailgun-Spf", "Pass")], "ada@example.org", False, False),
        # A forged "Pass" next to Mailgun's own "Fail".
        ([("X-Mailgun-Spf", "Fail"), ("X-Mailgun-Spf", "Pass")], "ada@example.org", True, False),
        # SPF passed, for the attacker's own envelope sender.
        ([("X-Mailgun-Spf", "Pass")], "bounce@attacker.test", True, False),
        # DKIM passed, but which signature? One of them is the attacker's.
        (
            [
                ("X-Mailgun-Dkim-Check-Result", "Pass"),
                ("DKIM-Signature", DKIM_ATTACKER),
                ("DKIM-Signature", DKIM_EXAMPLE),
            ],
            "",
            True,
            False,
        ),
    ],
)
async def test_mailgun_vouches_with_its_verdict_headers(
    broker: str,
    fixture_secrets: dict[str, str],
    email_client: httpx.AsyncClient,
    marked_client: httpx.AsyncClient,
    headers: list[tuple[str, str]],
    sender: str,
    marked: bool,
    verified: bool,
) -> None:
    message_id = f"{uuid.uuid4()}@example.org"
    pairs = [*headers, ("Message-Id", f"<{message_id}>"), ("From", SENDER)]
    form = {
        **mailgun_signature(fixture_secrets["mailgun_signing_key"]),
        "recipient": "support@mg.example.com",
        "sender": sender,
        "from": SENDER,
        "subject": "Help",
        "body-plain": "Hello",
        "message-headers": json.dumps([list(pair) for pair in pairs]),
    }
    client = marked_client if marked else email_client
    response = await client.post("/inbound/mailgun", data=form)
    assert await _verified(broker, response, "mailgun", message_id) is verified


@pytest.mark.parametrize(
    ("headers", "verified"),
    [
        (
            [
                "Pass (sender SPF authorized) identity=mailfrom; client-ip=192.0.2.1; "
                "helo=mail.example.org; envelope-from=ada@example.org; receiver=x"
            ],
            True,
        ),
        (
            [
                "Pass (sender SPF authorized) identity=mailfrom; client-ip=192.0.2.9; "
                "envelope-from=bounce@attacker.test; receiver=x",
                # The sender's own copy, naming the victim's domain.
                "Pass identity=mailfrom; envelope-from=ada@example.org",
            ],
            False,
        ),
        (["SoftFail identity=mailfrom; envelope-from=ada@example.org"], False),
    ],
)
async def test_postmark_vouches_with_its_received_spf(
    broker: str,
    fixture_secrets: dict[str, str],
    email_client: httpx.AsyncClient,
    headers: list[str],
    verified: bool,
) -> None:
    message_id = f"{uuid.uuid4()}@example.org"
    payload = {
        "MessageID": str(uuid.uuid4()),
        "From": "ada@example.org",
        "FromName": "Ada",
        "Subject": "Help",
        "TextBody": "Hello",
        "Headers": [{"Name": "Received-SPF", "Value": v} for v in headers]
        + [{"Name": "Message-ID", "Value": f"<{message_id}>"}],
    }
    user, password = fixture_secrets["postmark_basic_auth"].split(":", 1)
    response = await email_client.post(
        "/inbound/postmark", json=payload, headers=basic(user, password)
    )
    assert await _verified(broker, response, "postmark", message_id) is verified
