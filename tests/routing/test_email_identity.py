"""Mail from the email connector to routing: who a sender is, and when they wrote.

A From header is whatever the sender typed. These tests post mail to the running
connector and watch routing file it: a forged From must not join the contact of the
address it names, and a backdated Date must not open a conversation in the past.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from services.email.app import create_app as create_email
from services.email.settings import EmailSettings
from tests.email.support import bearer, mime_event_id, published
from tests.routing.support import Routing, tag, types
from tests.support.server import serving

RECEIVER = "mx.switchboard.test"


@pytest.fixture(scope="module")
async def mail(routing: Routing) -> AsyncIterator[httpx.AsyncClient]:
    """The email connector, believing the Authentication-Results of ``RECEIVER`` only."""
    settings = EmailSettings(
        authserv_ids=RECEIVER, outbound_group=f"email-outbound-{uuid.uuid4().hex[:8]}"
    )
    async with (
        serving(create_email(settings)) as url,
        httpx.AsyncClient(base_url=url, headers=bearer(), timeout=30) as client,
    ):
        yield client


def _message(
    message_id: str, sender: str, *, results: Sequence[str] = (), date: datetime | None = None
) -> bytes:
    lines = [f"Authentication-Results: {r}" for r in results]
    lines += [
        f"Message-ID: <{message_id}>",
        f"Date: {format_datetime(date or datetime.now(UTC))}",
        f"From: {sender}",
        "To: support@example.com",
        f"Subject: Help {message_id}",
        "Content-Type: text/plain",
        "",
        "My order did not arrive.",
    ]
    return "\n".join(lines).encode() + b"\n"


async def _send(mail: httpx.AsyncClient, routing: Routing, raw: bytes, message_id: str) -> Any:
    """Post ``raw`` to the connector; the published event and routing's conversation."""
    response = await mail.post("/inbound/mime", content=raw)
    assert response.status_code == 200, response.text
    event_id = mime_event_id("mime", message_id)
    event = (await published(routing.broker, {event_id}))[event_id]
    conversation = await routing.conversation_in(event["conversation_key"], "queued")
    return event, conversation


async def test_a_spoofed_from_opens_a_contact_of_its_own_an_authenticated_one_joins(
    routing: Routing, mail: httpx.AsyncClient
) -> None:
    t = tag()
    victim = f"ada-{t}@example.org"
    passed = f"{RECEIVER}; dkim=pass header.d=example.org header.s=s1; spf=none"

    first_id = f"real-1-{t}@example.org"
    real, real_conversation = await _send(
        mail, routing, _message(first_id, f"Ada <{victim}>", results=[passed]), first_id
    )
    assert real["customer"]["verified"] is True

    # The attacker sends as the victim: no passing result from the receiving server, and a
    # forged "pass" of their own under the receiver's "fail", which changes nothing.
    forged = [
        f"{RECEIVER}; dkim=fail header.d=example.org; spf=softfail smtp.mailfrom=example.org",
        f"{RECEIVER}; dkim=pass header.d=example.org",
    ]
    spoof_ids = [f"spoof-{n}-{t}@attacker.test" for n in range(3)]
    spoofs = [
        _message(spoof_ids[0], f"Ada <{victim}>"),
        _message(spoof_ids[1], f"Ada <{victim}>", results=forged),
        # A pass from a server the connector does not believe, and a pass for another domain.
        _message(
            spoof_ids[2],
            f"Ada <{victim}>",
            results=["mx.attacker.test; dkim=pass header.d=example.org"],
        ),
    ]
    for raw, message_id in zip(spoofs, spoof_ids, strict=True):
        spoofed, spoofed_conversation = await _send(mail, routing, raw, message_id)
        assert spoofed["customer"] == {
            "id": victim,
            "display_name": "Ada",
            "kind": "email",
            "verified": False,
        }
        assert spoofed_conversation["contact_id"] != real_conversation["contact_id"]

    other_domain = f"other-{t}@example.org"
    signed_elsewhere = f"{RECEIVER}; dkim=pass header.d=attacker.test"
    elsewhere_id = f"elsewhere-{t}@attacker.test"
    elsewhere, _ = await _send(
        mail,
        routing,
        _message(elsewhere_id, other_domain, results=[signed_elsewhere]),
        elsewhere_id,
    )
    assert elsewhere["customer"]["verified"] is False

    again_id = f"real-2-{t}@example.org"
    spf_passed = f"{RECEIVER}; spf=pass smtp.mailfrom=bounce@mail.example.org; dkim=none"
    # SPF of a subdomain (an ESP's bounce domain, perhaps delegated) is not aligned with
    # example.org; SPF of example.org itself is, below.
    sub, _ = await _send(mail, routing, _message(again_id, victim, results=[spf_passed]), again_id)
    assert sub["customer"]["verified"] is False
    third_id = f"real-3-{t}@example.org"
    spf_parent = f"{RECEIVER}; spf=pass smtp.mailfrom=ada@example.org"
    again, again_conversation = await _send(
        mail, routing, _message(third_id, victim.upper(), results=[spf_parent]), third_id
    )
    assert again["customer"]["verified"] is True
    assert again_conversation["contact_id"] == real_conversation["contact_id"]
    identities = await routing.sql(
        "SELECT namespace, verified FROM routing.identity WHERE value = :v ORDER BY namespace",
        v=victim,
    )
    assert [(i["namespace"], i["verified"]) for i in identities] == [
        ("email", True),
        ("email:mime:email", False),
    ]


async def test_a_backdated_mail_opens_its_conversation_when_it_arrived(
    routing: Routing, mail: httpx.AsyncClient
) -> None:
    t = tag()
    message_id = f"old-{t}@example.org"
    a_year_ago = datetime.now(UTC) - timedelta(days=365)
    before = datetime.now(UTC)
    event, conversation = await _send(
        mail, routing, _message(message_id, f"bo-{t}@example.org", date=a_year_ago), message_id
    )
    occurred = datetime.fromisoformat(event["occurred_at"])
    assert occurred == datetime.fromisoformat(event["received_at"])
    assert occurred >= before - timedelta(seconds=1)
    assert any("before the time received" in w for w in event["parse_warnings"])
    # First-response time runs from the opening step, which is when the mail arrived.
    assert conversation["opened_at"] >= before - timedelta(seconds=1)
    steps = await routing.lifecycle(event["conversation_key"], lambda es: "opened" in types(es))
    (opened,) = [s for s in steps if s["type"] == "conversation.opened"]
    assert datetime.fromisoformat(opened["occurred_at"]) >= before - timedelta(seconds=1)

    # Mail delayed a few hours in transit keeps its Date.
    late_id = f"late-{t}@example.org"
    hours_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    late, _ = await _send(
        mail, routing, _message(late_id, f"cy-{t}@example.org", date=hours_ago), late_id
    )
    assert datetime.fromisoformat(late["occurred_at"]) == hours_ago
