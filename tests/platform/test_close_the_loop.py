"""The loop closed across real services: a customer writes (Slack, WhatsApp) or calls (Twilio),
routing offers the conversation, an agent accepts it, reads the message through routing's API
and answers, and the answer reaches the provider (an emulator) once, its delivery shown in the
transcript; an accepted call is connected to the agent's phone."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import RequestValidator

from services.chat.app import create_app as create_chat
from services.phone.app import create_app as create_phone
from services.routing.app import create_app as create_routing
from services.routing.settings import RoutingSettings
from services.social.app import create_app as create_social
from shared.events import INTERACTIONS_TOPIC
from shared.signatures import hmac_sha256_hex
from tests.chat.conftest import environment
from tests.routing.support import ADMIN_TOKEN, eventually, routing_settings
from tests.support.emulator import ProviderEmulator
from tests.support.groups import own_groups
from tests.support.kafka import group_at_end
from tests.support.server import serving

SLACK_TOKEN = "xoxb-loop-test"
WHATSAPP_TOKEN = "whatsapp-loop-test"
TWILIO_SID = "AC0000000000000000000000000000loop"
PUBLIC_BASE = "https://phone.example.com"
AGENT_PHONE = "+15551239876"


@pytest.fixture(scope="module")
def connector_env(
    stack_env: None, emulator: ProviderEmulator, fixture_secrets: dict[str, str]
) -> Iterator[None]:
    """Every connector pointed at the emulator, on consumer groups of this module's own."""
    with environment(
        {
            **own_groups("chat", "social", "phone"),
            "CHAT_SLACK_SIGNING_SECRET": fixture_secrets["slack_signing_secret"],
            "CHAT_SLACK_API_URL": emulator.url,
            "CHAT_SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SOCIAL_META_APP_SECRET": fixture_secrets["meta_app_secret"],
            "SOCIAL_META_GRAPH_URL": emulator.url,
            "SOCIAL_WHATSAPP_TOKEN": WHATSAPP_TOKEN,
            "PHONE_TWILIO_AUTH_TOKEN": fixture_secrets["twilio_auth_token"],
            "PHONE_PUBLIC_BASE_URL": PUBLIC_BASE,
            "PHONE_TWILIO_API_URL": emulator.url,
            "PHONE_TWILIO_ACCOUNT_SID": TWILIO_SID,
        }
    ):
        yield


@pytest.fixture(scope="module")
async def connectors(connector_env: None) -> AsyncIterator[dict[str, str]]:
    """The chat, social and phone connectors, served; their base URLs by name."""
    apps = {"chat": create_chat(), "social": create_social(), "phone": create_phone()}
    async with (
        serving(apps["chat"]) as chat,
        serving(apps["social"]) as social,
        serving(apps["phone"]) as phone,
    ):
        yield {"chat": chat, "social": social, "phone": phone}


@pytest.fixture(scope="module")
async def routing_url(stack_env: None, broker: str) -> AsyncIterator[str]:
    group = await group_at_end(broker, [INTERACTIONS_TOPIC], "routing-loop")
    # The default list of providers with an outbound path, not the routing tests' wildcard.
    default = RoutingSettings.model_fields["reply_providers"].default
    settings = routing_settings(consumer_group=group, reply_providers=default)
    async with serving(create_routing(settings)) as url:
        yield url


@asynccontextmanager
async def agent_for(
    routing_url: str, *, channel: str, provider: str, **fields: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An available agent, alone on a queue of ``channel`` for ``provider``; offline after."""
    admin_headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=routing_url, headers=admin_headers) as admin:
        queue = await admin.post(
            "/admin/queues",
            json={
                "name": f"{provider}-{uuid.uuid4().hex[:8]}",
                "channel": channel,
                "providers": [provider],
                "priority": 1000,
            },
        )
        assert queue.status_code == 201, queue.text
        body = {"name": "Grace", "status": "available", "capacity": {channel: 3}, **fields}
        created = await admin.post("/admin/agents", json=body)
        assert created.status_code == 201, created.text
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    async with httpx.AsyncClient(base_url=routing_url, headers=headers, timeout=30) as agent:
        try:
            yield agent
        finally:
            await agent.put("/agent/status", json={"status": "offline"})


async def accept_offer(agent: httpx.AsyncClient, key: str) -> str:
    """Wait for the offer of conversation ``key``, accept it; the conversation's id."""

    async def offer() -> dict[str, Any] | None:
        offers = (await agent.get("/agent/offers")).json()
        return next((o for o in offers if o["conversation_key"] == key), None)

    offered = await eventually(offer, what=f"the offer of {key}")
    accepted = await agent.post(f"/agent/offers/{offered['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    conversation_id: str = offered["conversation_id"]
    return conversation_id


async def answer_twice(agent: httpx.AsyncClient, conversation_id: str, text: str) -> None:
    """Reply, and send the same reply id again (a client retrying)."""
    answer = {"text": text, "reply_id": str(uuid.uuid4())}
    for _ in range(2):
        sent = await agent.post(f"/agent/conversations/{conversation_id}/reply", json=answer)
        assert sent.status_code == 202, sent.text


async def transcript_once_sent(
    agent: httpx.AsyncClient, conversation_id: str
) -> list[tuple[str, str]]:
    """The transcript's (direction, text), once the last message (the reply) was sent."""
    path = f"/agent/conversations/{conversation_id}/messages"

    async def sent() -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = (await agent.get(path)).json()["messages"]
        return found if found and found[-1].get("status") == "sent" else None

    messages = await eventually(sent, what="the reply's delivery in the transcript")
    return [(m["direction"], m["text"]) for m in messages]


async def test_a_slack_customer_is_answered_on_slack(
    connectors: dict[str, str],
    routing_url: str,
    emulator: ProviderEmulator,
    provider_fixtures: Path,
    fixture_secrets: dict[str, str],
) -> None:
    payload: dict[str, Any] = json.loads(
        (provider_fixtures / "chat" / "slack_message.json").read_text()
    )
    channel, now = f"C{uuid.uuid4().hex[:8].upper()}", f"{time.time():.6f}"
    payload["event_id"] = f"Ev{uuid.uuid4().hex[:10].upper()}"
    payload["event"].update(
        channel=channel, text="My parcel never arrived", ts=now, event_ts=now, thread_ts=now
    )
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    signature = SignatureVerifier(fixture_secrets["slack_signing_secret"]).generate_signature(
        timestamp=stamp, body=body
    )
    assert signature is not None
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }

    async with agent_for(routing_url, channel="chat", provider="slack") as agent:
        async with httpx.AsyncClient(base_url=connectors["chat"]) as chat:
            webhook = await chat.post("/webhooks/slack", content=body, headers=headers)
        assert webhook.status_code == 200, webhook.text
        conversation_id = await accept_offer(agent, f"slack:{channel}:{now}")
        first = (await agent.get(f"/agent/conversations/{conversation_id}/messages")).json()
        assert [(m["direction"], m["text"]) for m in first["messages"]] == [
            ("inbound", "My parcel never arrived")
        ]
        await answer_twice(agent, conversation_id, "Sorry! A new one ships today.")

        (request,) = await emulator.wait_for("/chat.postMessage")
        assert request.headers["authorization"] == f"Bearer {SLACK_TOKEN}"
        assert request.json() == {
            "channel": channel,
            "thread_ts": now,
            "text": "Sorry! A new one ships today.",
        }
        assert await transcript_once_sent(agent, conversation_id) == [
            ("inbound", "My parcel never arrived"),
            ("outbound", "Sorry! A new one ships today."),
        ]
    assert len(emulator.to("/chat.postMessage")) == 1


async def test_a_whatsapp_customer_is_answered_on_whatsapp(
    connectors: dict[str, str],
    routing_url: str,
    emulator: ProviderEmulator,
    provider_fixtures: Path,
    fixture_secrets: dict[str, str],
) -> None:
    payload: dict[str, Any] = json.loads(
        (provider_fixtures / "social" / "whatsapp_text.json").read_text()
    )
    value = payload["entry"][0]["changes"][0]["value"]
    number_id, customer = "1" + uuid.uuid4().hex[:14], "1555" + str(uuid.uuid4().int)[:7]
    wamid = f"wamid.{uuid.uuid4().hex}"
    value["metadata"]["phone_number_id"] = number_id
    value["contacts"][0]["wa_id"] = customer
    value["messages"][0].update({"from": customer, "id": wamid, "timestamp": str(int(time.time()))})
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac_sha256_hex(fixture_secrets["meta_app_secret"], body)

    async with agent_for(routing_url, channel="social", provider="whatsapp") as agent:
        async with httpx.AsyncClient(base_url=connectors["social"]) as social:
            webhook = await social.post(
                "/webhooks/meta",
                content=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
            )
        assert webhook.status_code == 200, webhook.text
        conversation_id = await accept_offer(agent, f"whatsapp:{number_id}:{customer}")
        await answer_twice(agent, conversation_id, "It comes in blue and green.")

        (request,) = await emulator.wait_for(f"/{number_id}/messages")
        assert request.headers["authorization"] == f"Bearer {WHATSAPP_TOKEN}"
        assert request.json() == {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": customer,
            "type": "text",
            "text": {"body": "It comes in blue and green."},
            "context": {"message_id": wamid},
        }
        assert await transcript_once_sent(agent, conversation_id) == [
            ("inbound", "Does it come in another color?"),
            ("outbound", "It comes in blue and green."),
        ]
    assert len(emulator.to(f"/{number_id}/messages")) == 1


async def test_an_accepted_twilio_call_is_connected_to_the_agent(
    connectors: dict[str, str],
    routing_url: str,
    emulator: ProviderEmulator,
    fixture_secrets: dict[str, str],
) -> None:
    call_sid = "CA" + uuid.uuid4().hex
    params = {
        "CallSid": call_sid,
        "AccountSid": TWILIO_SID,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": "+14155550199",
        "To": "+14155550100",
    }
    validator = RequestValidator(fixture_secrets["twilio_auth_token"])
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": validator.compute_signature(PUBLIC_BASE + "/twilio/voice", params),
    }
    calls = f"/2010-04-01/Accounts/{TWILIO_SID}/Calls/{call_sid}.json"

    async with agent_for(
        routing_url, channel="phone", provider="twilio_voice", phone_address=AGENT_PHONE
    ) as agent:
        async with httpx.AsyncClient(base_url=connectors["phone"]) as phone:
            call = await phone.post("/twilio/voice", content=urlencode(params), headers=headers)
        assert call.status_code == 200, call.text
        assert "<Enqueue" in call.text
        await accept_offer(agent, f"twilio_voice:{call_sid}")

        (redirect,) = await emulator.wait_for(calls)
    form = dict(parse_qsl(redirect.body.decode()))
    assert form == {"Twiml": f"<Response><Dial><Number>{AGENT_PHONE}</Number></Dial></Response>"}
