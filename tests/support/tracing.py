"""What the tracing tests share: chat, routing and metrics served in the test process, an
available agent, a customer's webhook, and ways to read spans and records."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from aiokafka import ConsumerRecord
from opentelemetry.sdk.trace import ReadableSpan

from services.metrics.app import create_app as create_metrics
from services.metrics.settings import MetricsSettings
from services.routing.app import create_app as create_routing
from services.routing.settings import RoutingSettings
from shared.events import INTERACTIONS_TOPIC, ROUTING_TOPIC
from tests.chat.conftest import chat_app
from tests.platform.test_end_to_end import signed
from tests.routing.support import ADMIN_TOKEN, routing_settings
from tests.support.kafka import group_at_end, read_topic, values
from tests.support.server import serving

METRICS_ADMIN = {"Authorization": "Bearer dev-metrics-admin-token"}
OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_SERVICE_NAME",
)


@asynccontextmanager
async def services(broker: str) -> AsyncIterator[tuple[str, str, str]]:
    """Chat, routing with an available agent, and metrics, served.

    Routing starts from the end of interactions.v1; metrics starts once the agent is
    available, from the topics' ends then: every record it reads comes from the test's
    webhook, not from the admin requests that made the agent.
    """
    routing_group = await group_at_end(broker, [INTERACTIONS_TOPIC], "routing-trace")
    default = RoutingSettings.model_fields["reply_providers"].default
    routing = create_routing(
        routing_settings(consumer_group=routing_group, reply_providers=default)
    )
    async with AsyncExitStack() as stack:
        chat_url = await stack.enter_async_context(serving(chat_app()))
        routing_url = await stack.enter_async_context(serving(routing))
        await stack.enter_async_context(available_agent(routing_url))
        topics = [INTERACTIONS_TOPIC, ROUTING_TOPIC]
        metrics_group = await group_at_end(broker, topics, "metrics-trace")
        metrics = create_metrics(
            MetricsSettings(consumer_group=metrics_group, privacy_group=f"{metrics_group}-privacy")
        )
        metrics_url = await stack.enter_async_context(serving(metrics))
        yield chat_url, routing_url, metrics_url


@asynccontextmanager
async def available_agent(routing_url: str) -> AsyncIterator[None]:
    """An agent available on a queue of generic chat, so a new conversation is offered at once."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=routing_url, headers=admin, timeout=30) as client:
        queue = {
            "name": f"trace-{uuid.uuid4().hex[:8]}",
            "channel": "chat",
            "providers": ["generic"],
            "priority": 1000,
        }
        created = await client.post("/admin/queues", json=queue)
        assert created.status_code == 201, created.text
        # Room to spare: conversations other modules left waiting may be offered to her too.
        body = {"name": "Grace", "status": "available", "capacity": {"chat": 1000}}
        agent = await client.post("/admin/agents", json=body)
        assert agent.status_code == 201, agent.text
        token = agent.json()["token"]
        try:
            yield
        finally:
            await client.put(
                "/agent/status",
                json={"status": "offline"},
                headers={"Authorization": f"Bearer {token}"},
            )


async def customer_writes(chat_url: str) -> tuple[str, str]:
    """A generic chat webhook; the conversation key and the request id."""
    conversation = f"trace-{uuid.uuid4().hex}"
    message = {
        "message_id": f"m-{uuid.uuid4().hex}",
        "conversation_id": conversation,
        "sender": {"id": "u-7", "name": "Ada"},
        "text": "Where is my order?",
    }
    body, headers = signed(message)
    async with httpx.AsyncClient(base_url=chat_url) as client:
        accepted = await client.post("/webhooks/generic", content=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    return f"generic:{conversation}", accepted.headers["x-request-id"]


async def offered_record(broker: str, key: str) -> ConsumerRecord:
    def offered(records: list[ConsumerRecord]) -> bool:
        return any(_is_offer(r, key) for r in records)

    records = await read_topic(broker, ROUTING_TOPIC, until=offered, timeout=45)
    (record,) = [r for r in records if _is_offer(r, key)]
    return record


def _is_offer(record: ConsumerRecord, key: str) -> bool:
    (value,) = values([record])
    return bool(value.get("conversation_key") == key and value["type"] == "conversation.offered")


def header(record: ConsumerRecord, name: str) -> bytes | None:
    return next((v for n, v in record.headers if n == name), None)


def service_of(span: ReadableSpan) -> Any:
    assert span.resource is not None
    return span.resource.attributes["service.name"]


def ids(span: ReadableSpan) -> tuple[int, int]:
    assert span.context is not None
    return span.context.trace_id, span.context.span_id
