"""One real event end to end: webhook -> interactions.v1 -> routing -> routing.v1, and tail."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Mapping
from contextlib import AsyncExitStack

import httpx
import pytest

from services.chat.app import create_app as create_chat
from services.routing.app import create_app as create_routing
from services.routing.settings import RoutingSettings
from shared.events import INTERACTIONS_TOPIC, ROUTING_TOPIC
from tests.support.kafka import group_at_end, read_topic, values
from tests.support.server import serving
from tests.support.webhooks import standard_signed

DEV_SECRET = "dev-generic-secret"  # the chat connector's development default


def signed(body: Mapping[str, object]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, standard_signed(DEV_SECRET, raw)


@pytest.mark.usefixtures("stack_env")
async def test_a_webhook_message_reaches_routing_and_the_topic_reader(broker: str) -> None:
    conversation = f"c-{uuid.uuid4().hex}"
    message = {
        "message_id": f"m-{uuid.uuid4().hex}",
        "conversation_id": conversation,
        "sender": {"id": "u-42", "name": "Ada Lovelace"},
        "text": "Hello, my order is late",
        "sent_at": "2026-11-22T09:00:00+01:00",
    }
    # Routing starts where interactions.v1 ends now, not at what earlier tests left there.
    group = await group_at_end(broker, [INTERACTIONS_TOPIC], "routing-e2e")
    routing_app = create_routing(RoutingSettings(consumer_group=group))
    async with AsyncExitStack() as stack:
        chat_url = await stack.enter_async_context(serving(create_chat()))
        await stack.enter_async_context(serving(routing_app))
        client = await stack.enter_async_context(httpx.AsyncClient(base_url=chat_url))
        body, headers = signed(message)
        accepted = await client.post("/webhooks/generic", content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        (event_id,) = accepted.json()["event_ids"]

        key = f"generic:{conversation}"
        interactions = await read_topic(
            broker, INTERACTIONS_TOPIC, until=lambda rs: any(r.key == key.encode() for r in rs)
        )
        (event,) = [v for v in values(interactions) if v["conversation_key"] == key]
        assert event == {
            "event_id": event_id,
            "schema_version": 1,
            "type": "message.received",
            "channel": "chat",
            "provider": "generic",
            "direction": "inbound",
            "occurred_at": "2026-11-22T08:00:00Z",
            "received_at": event["received_at"],
            "customer": {"id": "u-42", "display_name": "Ada Lovelace", "kind": "id"},
            "conversation_key": key,
            "content": {
                "text": "Hello, my order is late",
                "html": False,
                "content_type": "text",
                "attachments": [],
            },
            "automated": False,
            "parse_warnings": [],
            "raw_ref": message["message_id"],
            "provider_meta": {"sender_id": "u-42"},
        }

        lifecycle = await read_topic(
            broker,
            ROUTING_TOPIC,
            until=lambda rs: any(v.get("cause_event_id") == event_id for v in values(rs)),
            timeout=45,
        )
        opened = [v for v in values(lifecycle) if v.get("conversation_key") == key]
        assert [v["type"] for v in opened][:1] == ["conversation.opened"]
        assert opened[0]["occurred_at"] == "2026-11-22T08:00:00Z"

    reader = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard_dev.tail",
        INTERACTIONS_TOPIC,
        "--no-follow",
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker},
    )
    out, _ = await asyncio.wait_for(reader.communicate(), 60)
    assert reader.returncode == 0
    printed = [json.loads(line) for line in out.decode().splitlines()]
    assert [p["value"]["event_id"] for p in printed if p["key"] == key] == [event_id]


@pytest.mark.usefixtures("stack_env")
async def test_bad_input_gets_a_json_error_and_publishes_nothing(broker: str) -> None:
    async with serving(create_chat()) as url, httpx.AsyncClient(base_url=url) as client:
        body, headers = signed(
            {"message_id": "m", "conversation_id": "c", "sender": {"id": "u"}, "text": "x"}
        )
        forged = await client.post(
            "/webhooks/generic",
            content=body,
            headers={**headers, "webhook-signature": "v1,AAAA"},
        )
        assert forged.status_code == 401
        assert forged.json()["error"] == "unauthorized"

        body, headers = signed({"message_id": "m", "sender": {"id": "u"}, "text": 5})
        invalid = await client.post("/webhooks/generic", content=body, headers=headers)
        assert invalid.status_code == 400
        fields = {p["field"] for p in invalid.json()["detail"]}
        assert fields == {"conversation_id", "text"}

        body, headers = signed({"pad": "x" * 300_000})
        too_big = await client.post("/webhooks/generic", content=body, headers=headers)
        assert too_big.status_code == 413
        assert too_big.json()["error"] == "payload_too_large"

        body, headers = signed(
            {
                "message_id": "m",
                "conversation_id": "c",
                "sender": {"id": "u"},
                "text": "x",
                "sent_at": "2026-01-01T00:00:00",
            }
        )
        naive = await client.post("/webhooks/generic", content=body, headers=headers)
        assert naive.status_code == 422

        health = await client.get("/healthz")
        assert health.json() == {"status": "ok"}
        metrics = await client.get("/metrics")
        assert (
            'switchboard_http_requests_total{method="POST",route="/webhooks/generic",status="401"}'
            in metrics.text
        )
