"""Who may post to the generic chat webhook, as which source, and how often the same request.

Attacks tried against a running connector: a partner posting as a built-in provider or as
another partner, a captured request replayed, a stale signature, and the old
``X-Switchboard-Signature`` where it is no longer accepted.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from services.chat.settings import ChatSettings
from shared.clock import utc_now
from shared.events import event_id_for
from shared.security import GenericWebhookSettings
from shared.signatures import hmac_sha256_hex, standard_webhook_headers
from tests.chat.conftest import chat_app
from tests.chat.test_website_chat import events_of
from tests.support.kafka import read_topic, values
from tests.support.server import serving
from tests.support.webhooks import standard_signed

ACME_KEY = b"acme's sixteen+ byte key"
ACME_SECRET = "whsec_" + base64.b64encode(ACME_KEY).decode()
GLOBEX_SECRET = "globex-secret-0123456789"
DEFAULT_SECRET = "default-secret-0123456789"
KEYS = {
    "acme": {"secret": ACME_SECRET, "sources": ["acme", "acme-eu"]},
    "globex": {"secret": GLOBEX_SECRET, "sources": ["globex"]},
}


@pytest.fixture(scope="module")
async def partners(stack_env: None) -> AsyncIterator[httpx.AsyncClient]:
    """A connector with two partners' keys besides the default one, and no legacy header."""
    app = chat_app(
        CHAT_GENERIC_SECRET=DEFAULT_SECRET,
        CHAT_GENERIC_SOURCES=json.dumps(KEYS),
        CHAT_GENERIC_LEGACY_SIGNATURE="false",
    )
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


def message(source: str, conversation: str | None = None) -> bytes:
    return json.dumps(
        {
            "message_id": f"m-{uuid.uuid4().hex}",
            "conversation_id": conversation or f"c-{uuid.uuid4().hex}",
            "sender": {"id": "u-1"},
            "text": "hello",
            "source": source,
        }
    ).encode()


def acme_signed(body: bytes, **more: Any) -> dict[str, str]:
    # Signed with the key the whsec_ secret encodes, as a partner's library does.
    return {
        "Content-Type": "application/json",
        **standard_webhook_headers(
            ACME_KEY, more.get("webhook_id", f"msg_{uuid.uuid4().hex}"), body, utc_now()
        ),
    }


async def test_a_partner_posts_as_its_own_sources_only(
    partners: httpx.AsyncClient, broker: str
) -> None:
    body = message("acme-eu")
    own = await partners.post("/webhooks/generic", content=body, headers=acme_signed(body))
    assert own.status_code == 202, own.text
    conversation = uuid.uuid4().hex
    refused = []
    for source, secret in [
        ("globex", ACME_SECRET),  # another partner's source
        ("telegram", ACME_SECRET),  # a built-in provider: its conversation keys
        ("webchat", ACME_SECRET),
        ("acme", GLOBEX_SECRET),
        ("acme", DEFAULT_SECRET),  # the default key takes any source nobody named, not these
        ("twilio_voice", DEFAULT_SECRET),
    ]:
        body = message(source, conversation)
        answer = await partners.post(
            "/webhooks/generic", content=body, headers=standard_signed(secret, body)
        )
        assert answer.status_code == 403, (source, answer.text)
        assert answer.json()["error"] == "forbidden"
        assert answer.json()["detail"]["source"] == source
        refused.append(f"{source}:{conversation}")
    batch = {"messages": [json.loads(message("acme")), json.loads(message("globex"))]}
    body = json.dumps(batch).encode()
    mixed = await partners.post("/webhooks/generic", content=body, headers=acme_signed(body))
    assert mixed.status_code == 403
    body = message("helpdesk", conversation)
    free = await partners.post(
        "/webhooks/generic", content=body, headers=standard_signed(DEFAULT_SECRET, body)
    )
    assert free.status_code == 202, free.text
    records = await read_topic(
        broker,
        "interactions.v1",
        until=lambda rs: any(
            v["conversation_key"] == f"helpdesk:{conversation}" for v in values(rs)
        ),
        settle=1.0,
    )
    keys = {v["conversation_key"] for v in values(records)}
    assert not keys & set(refused)


async def test_a_replayed_webhook_id_publishes_nothing_new(
    partners: httpx.AsyncClient, broker: str
) -> None:
    conversation = uuid.uuid4().hex
    body = message("acme", conversation)
    headers = acme_signed(body)
    first = await partners.post("/webhooks/generic", content=body, headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["duplicate"] is False
    # The captured request, sent again within its five minutes.
    replayed = await partners.post("/webhooks/generic", content=body, headers=headers)
    assert replayed.status_code == 202, replayed.text
    assert replayed.json() == {"event_ids": first.json()["event_ids"], "duplicate": True}
    events = await events_of(broker, f"acme:{conversation}", 1)
    assert [e["event_id"] for e in events] == first.json()["event_ids"]

    # The same id over another body is not the same message.
    other = message("acme", conversation)
    reused = await partners.post(
        "/webhooks/generic",
        content=other,
        headers=acme_signed(other, webhook_id=headers["webhook-id"]),
    )
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"] == "conflict"


@pytest.mark.parametrize("age", [timedelta(minutes=6), timedelta(minutes=-6)], ids=str)
async def test_a_stale_or_future_timestamp_is_refused(
    partners: httpx.AsyncClient, age: timedelta
) -> None:
    body = message("acme")
    headers = {
        "Content-Type": "application/json",
        **standard_webhook_headers(ACME_KEY, "msg_old", body, utc_now() - age),
    }
    answer = await partners.post("/webhooks/generic", content=body, headers=headers)
    assert answer.status_code == 401
    assert "webhook-timestamp" in answer.json()["message"]


async def test_signatures_are_checked_one_by_one_and_tampering_fails(
    partners: httpx.AsyncClient,
) -> None:
    body = message("acme")
    headers = acme_signed(body)
    rotating = {**headers, "webhook-signature": "v1,AAAA v2,x " + headers["webhook-signature"]}
    assert (
        await partners.post("/webhooks/generic", content=body, headers=rotating)
    ).status_code == 202
    tampered = body.replace(b"hello", b"HELLO")
    answer = await partners.post("/webhooks/generic", content=tampered, headers=acme_signed(body))
    assert answer.status_code == 401
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        partial = {k: v for k, v in acme_signed(body).items() if k != missing}
        assert (
            await partners.post("/webhooks/generic", content=body, headers=partial)
        ).status_code == 401


async def test_the_legacy_header_is_refused_unless_configured(
    partners: httpx.AsyncClient, stack_env: None
) -> None:
    body = message("helpdesk")
    legacy = {
        "Content-Type": "application/json",
        "X-Switchboard-Signature": "sha256=" + hmac_sha256_hex(DEFAULT_SECRET, body),
    }
    refused = await partners.post("/webhooks/generic", content=body, headers=legacy)
    assert refused.status_code == 401
    assert "Standard Webhooks" in refused.json()["message"]

    app = chat_app(CHAT_GENERIC_SECRET=DEFAULT_SECRET, CHAT_GENERIC_LEGACY_SIGNATURE="true")
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        accepted = await client.post("/webhooks/generic", content=body, headers=legacy)
        assert accepted.status_code == 202, accepted.text
        event_id = str(event_id_for("helpdesk", json.loads(body)["message_id"], "message.received"))
        assert accepted.json()["event_ids"] == [event_id]
        # Even the legacy header cannot post as a built-in provider.
        webchat = message("webchat")
        forged = {
            "Content-Type": "application/json",
            "X-Switchboard-Signature": "sha256=" + hmac_sha256_hex(DEFAULT_SECRET, webchat),
        }
        answer = await client.post("/webhooks/generic", content=webchat, headers=forged)
        assert answer.status_code == 403


class _Demo(GenericWebhookSettings):
    generic_secret: SecretStr = SecretStr("k7Hq2pX9vLw4mZ8rT3nB")


def test_the_legacy_header_is_on_in_development_and_off_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SWITCHBOARD_ENV", "development")
    assert _Demo().legacy_signature_accepted is True
    monkeypatch.setenv("SWITCHBOARD_ENV", "production")
    assert _Demo().legacy_signature_accepted is False
    assert _Demo(generic_legacy_signature=True).legacy_signature_accepted is True


@pytest.mark.parametrize(
    ("keys", "problem"),
    [
        ({"a": {"secret": "s" * 20, "sources": ["telegram"]}}, "built-in provider"),
        (
            {
                "a": {"secret": "s" * 20, "sources": ["x1"]},
                "b": {"secret": "t" * 20, "sources": ["x1"]},
            },
            "more than one generic key",
        ),
        ({"a": {"secret": "s" * 20, "sources": ["Not A Source"]}}, "not a source name"),
        ({"a": {"secret": "whsec_!!", "sources": ["a"]}}, "base64"),
        ({"a": {"sources": ["a"]}}, "not valid"),
        ({"a b": {"secret": "s" * 20, "sources": ["a"]}}, "key name"),
        ({"default": {"secret": "s" * 20, "sources": ["a"]}}, "GENERIC_SECRET's name"),
    ],
)
def test_keys_that_would_share_or_steal_a_source_refuse_to_start(
    keys: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        ChatSettings(generic_sources=SecretStr(json.dumps(keys)))


def test_production_refuses_a_weak_partner_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_ENV", "production")
    keys = {"acme": {"secret": "dev-acme", "sources": ["acme"]}}
    with pytest.raises(ValidationError, match="generic key 'acme' still holds"):
        _Demo(generic_sources=SecretStr(json.dumps(keys)))
