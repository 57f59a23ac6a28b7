"""Slack Events API payloads from the shared fixtures, with real signatures."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.signature import SignatureVerifier

from shared.events import INTERACTIONS_TOPIC, event_id_for
from tests.chat.conftest import chat_app
from tests.support.kafka import read_topic, values
from tests.support.server import serving


def signed(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers as Slack sends them, signed now (the fixtures' own timestamps are years old)."""
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


def fixture(provider_fixtures: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((provider_fixtures / "chat" / name).read_text())
    return loaded


async def test_url_verification_echoes_the_challenge(
    chat: httpx.AsyncClient, provider_fixtures: Path, fixture_secrets: dict[str, str]
) -> None:
    body = (provider_fixtures / "chat" / "slack_url_verification.json").read_bytes()
    answer = await chat.post(
        "/webhooks/slack",
        content=body,
        headers=signed(body, fixture_secrets["slack_signing_secret"]),
    )
    assert answer.status_code == 200
    assert answer.json() == {"challenge": json.loads(body)["challenge"]}


async def test_the_fixture_signatures_are_real_but_too_old(
    chat: httpx.AsyncClient,
    provider_fixtures: Path,
    fixture_manifest: dict[str, dict[str, Any]],
) -> None:
    body = (provider_fixtures / "chat" / "slack_message.json").read_bytes()
    headers = {
        "Content-Type": "application/json",
        **fixture_manifest["chat/slack_message.json"]["headers"],
    }
    answer = await chat.post("/webhooks/slack", content=body, headers=headers)
    assert answer.status_code == 401
    assert "too old" in answer.json()["message"]


async def test_a_message_is_published_once_whatever_slack_retries(
    chat: httpx.AsyncClient, broker: str, provider_fixtures: Path, fixture_secrets: dict[str, str]
) -> None:
    secret = fixture_secrets["slack_signing_secret"]
    payload = fixture(provider_fixtures, "slack_message.json")
    payload["event_id"] = f"Ev{uuid.uuid4().hex[:10].upper()}"  # a new delivery per test run
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    payload["event"]["channel"] = channel
    body = json.dumps(payload).encode()
    first = await chat.post("/webhooks/slack", content=body, headers=signed(body, secret))
    assert first.status_code == 200, first.text
    retry_headers = {
        **signed(body, secret),
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }
    retry = await chat.post("/webhooks/slack", content=body, headers=retry_headers)
    assert retry.status_code == 200
    assert retry.json() == {"event_ids": [], "retry": True}

    message = payload["event"]
    key = f"slack:{channel}:{message.get('thread_ts') or message['ts']}"
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(r.key == key.encode() for r in rs),
        settle=1.5,
    )
    (event,) = [v for v in values(records) if v["conversation_key"] == key]
    assert (
        event["event_id"]
        == first.json()["event_ids"][0]
        == str(event_id_for("slack", payload["event_id"], "message.received"))
    )
    assert event["type"] == "message.received"
    assert event["channel"] == "chat"
    assert event["provider"] == "slack"
    assert event["customer"] == {"id": message["user"], "kind": "slack_user"}
    assert event["content"]["text"] == message["text"]
    # "Hello world" is too short to tell a language by: none rather than a guess.
    assert "language" not in event["content"]
    assert event["provider_meta"]["team_id"] == payload["team_id"]


async def test_bots_edits_and_deletions_are_not_new_messages(
    chat: httpx.AsyncClient, provider_fixtures: Path, fixture_secrets: dict[str, str]
) -> None:
    secret = fixture_secrets["slack_signing_secret"]
    payload = fixture(provider_fixtures, "slack_message.json")
    for change, reason in (
        ({"bot_id": "B123", "subtype": "bot_message"}, "bot message"),
        ({"subtype": "message_changed"}, "message_changed"),
        ({"subtype": "message_deleted"}, "message_deleted"),
    ):
        payload["event_id"] = f"Ev{uuid.uuid4().hex[:10].upper()}"
        payload["event"] = {**payload["event"], **change}
        body = json.dumps(payload).encode()
        answer = await chat.post("/webhooks/slack", content=body, headers=signed(body, secret))
        assert answer.status_code == 200
        assert answer.json()["event_ids"] == []
        assert reason in answer.json()["ignored"]
        payload = fixture(provider_fixtures, "slack_message.json")


async def test_bad_signatures_are_refused(
    chat: httpx.AsyncClient, provider_fixtures: Path, fixture_secrets: dict[str, str]
) -> None:
    body = (provider_fixtures / "chat" / "slack_message.json").read_bytes()
    wrong = await chat.post("/webhooks/slack", content=body, headers=signed(body, "not-the-secret"))
    assert wrong.status_code == 401
    headers = signed(body, fixture_secrets["slack_signing_secret"])
    tampered = await chat.post("/webhooks/slack", content=body + b" ", headers=headers)
    assert tampered.status_code == 401
    missing = await chat.post("/webhooks/slack", content=body)
    assert missing.status_code == 401
    # Retried: a signing secret being rotated is the usual cause.
    for refused in (wrong, tampered, missing):
        assert "X-Slack-No-Retry" not in refused.headers


async def test_the_fixture_verifies_as_signed_when_the_tolerance_allows_its_age(
    stack_env: None,
    broker: str,
    provider_fixtures: Path,
    fixture_secrets: dict[str, str],
    fixture_manifest: dict[str, dict[str, Any]],
) -> None:
    body = (provider_fixtures / "chat" / "slack_message.json").read_bytes()
    headers = {
        "Content-Type": "application/json",
        **fixture_manifest["chat/slack_message.json"]["headers"],
    }
    ages_ago = int(time.time()) - int(headers["X-Slack-Request-Timestamp"]) + 60
    app = chat_app(
        CHAT_SLACK_SIGNING_SECRET=fixture_secrets["slack_signing_secret"],
        CHAT_SLACK_TOLERANCE_S=str(ages_ago),
    )
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as chat:
        answer = await chat.post("/webhooks/slack", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        forged = body.replace(b"Hello", b"Hullo")
        tampered = await chat.post("/webhooks/slack", content=forged, headers=headers)
        assert tampered.status_code == 401
    payload = json.loads(body)
    expected = str(event_id_for("slack", payload["event_id"], "message.received"))
    assert answer.json() == {"event_ids": [expected], "retry": False}
    event = payload["event"]
    key = f"slack:{event['channel']}:{event['thread_ts']}"
    records = await read_topic(
        broker, INTERACTIONS_TOPIC, until=lambda rs: any(r.key == key.encode() for r in rs)
    )
    published = [v for v in values(records) if v["event_id"] == expected]
    assert published[0]["content"]["in_reply_to"] == event["thread_ts"]
    assert published[0]["occurred_at"].startswith("2012-12-14T20:38:43")


async def test_a_thread_root_and_its_replies_are_one_conversation(
    chat: httpx.AsyncClient, broker: str, provider_fixtures: Path, fixture_secrets: dict[str, str]
) -> None:
    secret = fixture_secrets["slack_signing_secret"]
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    root_ts, reply_ts = "1767225600.000100", "1767225660.000200"
    for ts, thread_ts in ((root_ts, None), (reply_ts, root_ts)):
        payload = fixture(provider_fixtures, "slack_message.json")
        payload["event_id"] = f"Ev{uuid.uuid4().hex[:10].upper()}"
        payload["event"].update(channel=channel, ts=ts, event_ts=ts, thread_ts=thread_ts)
        body = json.dumps(payload).encode()
        answer = await chat.post("/webhooks/slack", content=body, headers=signed(body, secret))
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["event_ids"]) == 1

    key = f"slack:{channel}:{root_ts}"
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: sum(r.key == key.encode() for r in rs) >= 2,
        settle=1.0,
    )
    events = [v for v in values(records) if v["conversation_key"] == key]
    assert [e["provider_meta"]["ts"] for e in events] == [root_ts, reply_ts]
    assert [e["content"].get("in_reply_to") for e in events] == [None, root_ts]


async def test_malformed_and_oversized_bodies_are_4xx(
    chat: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    secret = fixture_secrets["slack_signing_secret"]
    for body, status in (
        (b"{not json", 400),
        (b'{"type": "event_callback", "event_id": "Ev1", "event": {"channel": "C1"}}', 400),
        (b'{"type": "event_callback", "event": ' + b'"x' * 200_000 + b'"}', 413),
    ):
        answer = await chat.post("/webhooks/slack", content=body, headers=signed(body, secret))
        assert answer.status_code == status, answer.text
        assert answer.json()["error"] in ("bad_request", "payload_too_large")
        # Final: Slack is told not to send it again.
        assert answer.headers["X-Slack-No-Retry"] == "1"
    other = json.dumps(
        {"type": "event_callback", "event_id": "Ev2", "event": {"type": "reaction_added"}}
    ).encode()
    ignored = await chat.post("/webhooks/slack", content=other, headers=signed(other, secret))
    assert ignored.status_code == 200
    assert ignored.json() == {
        "event_ids": [],
        "ignored": "event type reaction_added is not a message",
    }
