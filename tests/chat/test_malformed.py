"""Broken input on every endpoint: a 4xx with a JSON body naming the problem, never a 5xx."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.chat.test_generic_webhook import SECRET
from tests.chat.test_website_chat import open_session
from tests.support.webhooks import standard_signed

ODD_VALUES: list[Any] = [None, 0, -1, 1e308, "", " ", [], {}, True, "x" * 5000, {"a": [None]}]


def variants(payload: dict[str, Any]) -> Iterator[bytes]:
    """The payload with each field, at any depth, replaced by odd values or dropped; then cut."""

    def mutations(value: Any) -> Iterator[Any]:
        if isinstance(value, dict):
            for key, inner in value.items():
                yield {k: v for k, v in value.items() if k != key}
                for changed in mutations(inner):
                    yield {**value, key: changed}
        else:
            yield from ODD_VALUES

    for mutated in mutations(payload):
        yield json.dumps(mutated).encode()
    body = json.dumps(payload).encode()
    for cut in range(0, len(body), max(1, len(body) // 12)):
        yield body[:cut]
    yield body.replace(b'"', b"\xff", 1)
    yield b"[]"
    yield b"null"


def slack_signed(body: bytes, secret: str) -> dict[str, str]:
    """Signed as Slack signs, over raw bytes (slack_sdk's signer needs them to be UTF-8)."""
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def assert_answered_well(answer: httpx.Response, body: bytes) -> None:
    assert answer.status_code < 500, (answer.status_code, body[:200], answer.text)
    reply = answer.json()
    if answer.status_code >= 400:
        assert reply["error"], body[:200]
        assert reply["message"], body[:200]


async def test_the_generic_webhook_never_fails_on_broken_input(chat: httpx.AsyncClient) -> None:
    valid = {
        "message_id": "m-1",
        "conversation_id": f"fuzz-{uuid.uuid4().hex}",
        "sender": {"id": "u-1", "name": "N", "email": "n@example.com"},
        "text": "hello",
        "sent_at": "2026-11-22T10:00:00Z",
        "direction": "inbound",
        "source": "fuzz",
    }
    for payload in (valid, {"messages": [valid]}):
        for body in variants(payload):
            headers = standard_signed(SECRET, body)
            answer = await chat.post("/webhooks/generic", content=body, headers=headers)
            assert_answered_well(answer, body)


async def test_slack_events_never_fail_on_broken_input(
    chat: httpx.AsyncClient, provider_fixtures: Path, fixture_secrets: dict[str, str]
) -> None:
    payload = json.loads((provider_fixtures / "chat" / "slack_message.json").read_bytes())
    payload["event"]["channel"] = f"CFUZZ{uuid.uuid4().hex[:6].upper()}"
    payload["event"]["files"] = [{"id": "F1", "name": "a.png", "mimetype": "image/png", "size": 3}]
    secret = fixture_secrets["slack_signing_secret"]
    for index, body in enumerate(variants(payload)):
        # Each variant its own delivery, so none is taken for a retry of another.
        body = body.replace(b"Ev08MFMKH6", f"EvFUZZ{index}x{uuid.uuid4().hex[:6]}".encode())
        headers = slack_signed(body, secret)
        answer = await chat.post("/webhooks/slack", content=body, headers=headers)
        assert_answered_well(answer, body)


async def test_the_visitor_api_never_fails_on_broken_input(chat: httpx.AsyncClient) -> None:
    session = {"name": "Ada", "email": "ada@example.com", "page_url": "https://x.example/",
               "attributes": {"plan": "pro"}}  # fmt: skip
    for body in variants(session):
        answer = await chat.post("/chat/sessions", content=body)
        assert_answered_well(answer, body)
    _, auth = await open_session(chat)
    for body in variants({"text": "hello", "client_message_id": "c-1", "language": "fr-FR"}):
        answer = await chat.post("/chat/messages", content=body, headers=auth)
        assert_answered_well(answer, body)
    for after in ("-1", "abc", "1e99", "99999999999999999999"):
        answer = await chat.get(f"/chat/messages?after={after}", headers=auth)
        assert_answered_well(answer, after.encode())
        assert answer.status_code == 422


#: Bodies that broke Python's own JSON parser: nesting past the recursion limit, and an
#: integer past the 4,300 digits int() converts.
HOSTILE_JSON = [b"[" * 100_000 + b"]" * 100_000, b'{"text": ' + b"9" * 4301 + b"}"]


async def test_hostile_json_gets_a_4xx_from_the_generic_webhook(chat: httpx.AsyncClient) -> None:
    for body in [*HOSTILE_JSON, b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"]:
        headers = standard_signed(SECRET, body)
        answer = await chat.post("/webhooks/generic", content=body, headers=headers)
        assert 400 <= answer.status_code < 500, (body[:40], answer.status_code, answer.text)
        assert_answered_well(answer, body)


async def test_hostile_json_gets_a_4xx_from_slack_and_the_visitor_api(
    chat: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    _, auth = await open_session(chat)
    for body in HOSTILE_JSON:
        answers = [
            await chat.post(
                "/webhooks/slack",
                content=body,
                headers=slack_signed(body, fixture_secrets["slack_signing_secret"]),
            ),
            await chat.post("/chat/sessions", content=body),
            await chat.post("/chat/messages", content=body, headers=auth),
        ]
        for answer in answers:
            assert 400 <= answer.status_code < 500, (body[:40], answer.status_code, answer.text)
            assert_answered_well(answer, body)


async def test_an_odd_slack_timestamp_is_refused_before_anything(chat: httpx.AsyncClient) -> None:
    # Header bytes are Latin-1 to the server: b"\xb2" arrives as "²", a digit to str.isdigit().
    for stamp in ("²", "1" * 4301, "+1", "1_0", ""):
        headers = {
            b"X-Slack-Request-Timestamp": stamp.encode("latin-1"),
            b"X-Slack-Signature": b"v0=00",
        }
        answer = await chat.post("/webhooks/slack", content=b"{}", headers=headers)
        assert answer.status_code == 401, (stamp[:10], answer.status_code, answer.text)
        assert answer.json()["error"] == "unauthorized"
