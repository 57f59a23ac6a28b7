"""The loop closed across real services: a customer writes on Slack, an agent accepts the
offer, reads the message through routing's API, answers, and the answer reaches Slack (a
provider emulator) once, its delivery shown in the transcript."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from services.chat.app import create_app as create_chat
from services.routing.app import create_app as create_routing
from services.routing.settings import RoutingSettings
from shared.events import INTERACTIONS_TOPIC
from tests.chat.conftest import environment
from tests.routing.support import ADMIN_TOKEN, eventually, routing_settings
from tests.support.emulator import ProviderEmulator
from tests.support.kafka import group_at_end
from tests.support.server import serving

BOT_TOKEN = "xoxb-loop-test"


@pytest.fixture(scope="module")
async def chat_url(
    stack_env: None, emulator: ProviderEmulator, fixture_secrets: dict[str, str]
) -> AsyncIterator[str]:
    group = uuid.uuid4().hex[:8]
    with environment(
        {
            "CHAT_SLACK_SIGNING_SECRET": fixture_secrets["slack_signing_secret"],
            "CHAT_SLACK_API_URL": emulator.url,
            "CHAT_SLACK_BOT_TOKEN": BOT_TOKEN,
            "CHAT_REPLIES_GROUP": f"chat-replies-{group}",
            "CHAT_OUTBOUND_GROUP": f"chat-outbound-{group}",
        }
    ):
        app = create_chat()
    async with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
async def routing_url(stack_env: None, broker: str) -> AsyncIterator[str]:
    group = await group_at_end(broker, [INTERACTIONS_TOPIC], "routing-loop")
    # The default list of providers with an outbound path (slack is one of them), not the
    # routing tests' wildcard.
    default = RoutingSettings.model_fields["reply_providers"].default
    settings = routing_settings(consumer_group=group, reply_providers=default)
    async with serving(create_routing(settings)) as url:
        yield url


def slack_message(provider_fixtures: Path, channel: str, text: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(
        (provider_fixtures / "chat" / "slack_message.json").read_text()
    )
    now = f"{time.time():.6f}"
    payload["event_id"] = f"Ev{uuid.uuid4().hex[:10].upper()}"
    payload["event"].update(channel=channel, text=text, ts=now, event_ts=now, thread_ts=now)
    return payload


async def test_a_slack_customer_is_answered_on_slack(
    chat_url: str,
    routing_url: str,
    emulator: ProviderEmulator,
    provider_fixtures: Path,
    fixture_secrets: dict[str, str],
) -> None:
    admin_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=routing_url, headers=admin_headers) as admin:
        queue = await admin.post(
            "/admin/queues",
            json={
                "name": f"slack-{uuid.uuid4().hex[:8]}",
                "channel": "chat",
                "providers": ["slack"],
            },
        )
        assert queue.status_code == 201, queue.text
        created = await admin.post(
            "/admin/agents", json={"name": "Grace", "status": "available", "capacity": {"chat": 3}}
        )
        assert created.status_code == 201, created.text
    agent_headers = {"Authorization": f"Bearer {created.json()['token']}"}

    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    payload = slack_message(provider_fixtures, channel, "My parcel never arrived")
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    signature = SignatureVerifier(fixture_secrets["slack_signing_secret"]).generate_signature(
        timestamp=stamp, body=body
    )
    assert signature is not None
    async with httpx.AsyncClient(base_url=chat_url) as chat:
        webhook = await chat.post(
            "/webhooks/slack",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature,
            },
        )
    assert webhook.status_code == 200, webhook.text
    thread = payload["event"]["thread_ts"]
    key = f"slack:{channel}:{thread}"

    async with httpx.AsyncClient(base_url=routing_url, headers=agent_headers, timeout=30) as agent:

        async def offer() -> dict[str, Any] | None:
            offers = (await agent.get("/agent/offers")).json()
            return next((o for o in offers if o["conversation_key"] == key), None)

        offered = await eventually(offer, what="the offer of the Slack conversation")
        accepted = await agent.post(f"/agent/offers/{offered['id']}/accept")
        assert accepted.status_code == 200, accepted.text
        conversation_id = offered["conversation_id"]
        messages_path = f"/agent/conversations/{conversation_id}/messages"

        transcript = (await agent.get(messages_path)).json()
        assert [(m["direction"], m["text"]) for m in transcript["messages"]] == [
            ("inbound", "My parcel never arrived")
        ]

        reply_id = str(uuid.uuid4())
        answer = {"text": "Sorry! A new one ships today.", "reply_id": reply_id}
        sent = await agent.post(f"/agent/conversations/{conversation_id}/reply", json=answer)
        again = await agent.post(f"/agent/conversations/{conversation_id}/reply", json=answer)
        assert sent.status_code == 202, sent.text
        assert again.status_code == 202, again.text

        (request,) = await emulator.wait_for("/chat.postMessage")
        assert request.headers["authorization"] == f"Bearer {BOT_TOKEN}"
        assert request.json() == {
            "channel": channel,
            "thread_ts": thread,
            "text": "Sorry! A new one ships today.",
        }

        async def delivered() -> list[dict[str, Any]] | None:
            found: list[dict[str, Any]] = (await agent.get(messages_path)).json()["messages"]
            return found if found[-1].get("status") == "sent" else None

        final = await eventually(delivered, what="the reply's delivery in the transcript")
    assert [(m["direction"], m["text"]) for m in final] == [
        ("inbound", "My parcel never arrived"),
        ("outbound", "Sorry! A new one ships today."),
    ]
    # The same reply id sent twice reached Slack once.
    assert len(emulator.to("/chat.postMessage")) == 1
