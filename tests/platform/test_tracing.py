"""One trace from a provider's webhook to the metrics' KPI update, and nothing when tracing is off.

The chat connector, routing and metrics run in this process against the real broker and
Postgres; their spans go to an in-memory exporter.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import ConsumerRecord
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanKind

from services.metrics.app import create_app as create_metrics
from services.metrics.settings import MetricsSettings
from services.routing.app import create_app as create_routing
from services.routing.settings import RoutingSettings
from shared import tracing
from shared.clock import utc_now
from shared.events import (
    INTERACTIONS_TOPIC,
    ROUTING_TOPIC,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)
from shared.kafka import EventProducer, publish_interactions
from tests.chat.conftest import chat_app
from tests.platform.test_end_to_end import signed
from tests.routing.support import ADMIN_TOKEN, eventually, routing_settings
from tests.social.conftest import social_app
from tests.support.emulator import Answer, ProviderEmulator
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


@pytest.fixture
def no_otel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def exporter(no_otel_env: None) -> Iterator[InMemorySpanExporter]:
    """Every service started in the test traces into this exporter."""
    spans = InMemorySpanExporter()
    tracing.trace_to(SimpleSpanProcessor(spans))
    try:
        yield spans
    finally:
        tracing.tracing_off()


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
        metrics = create_metrics(MetricsSettings(consumer_group=metrics_group))
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
        body = {"name": "Grace", "status": "available", "capacity": {"chat": 3}}
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


@pytest.mark.usefixtures("stack_env")
async def test_one_trace_runs_from_the_webhook_to_the_kpi_update(
    broker: str, exporter: InMemorySpanExporter
) -> None:
    async with services(broker) as (chat_url, _, metrics_url):
        key, request_id = await customer_writes(chat_url)
        record = await offered_record(broker, key)

        traceparent = header(record, "traceparent")
        assert traceparent is not None, record.headers
        _, trace_hex, offer_span_hex, _ = traceparent.decode().split("-")
        trace_id, offer_span_id = int(trace_hex, 16), int(offer_span_hex, 16)

        async def metrics_took_the_offer() -> list[ReadableSpan] | None:
            found = [
                s
                for s in exporter.get_finished_spans()
                if s.kind is SpanKind.CONSUMER
                and service_of(s) == "switchboard-metrics"
                and any(link.context.span_id == offer_span_id for link in s.links)
            ]
            return found or None

        (metrics_batch,) = await eventually(metrics_took_the_offer, what="metrics' batch span")
        async with httpx.AsyncClient(base_url=metrics_url, headers=METRICS_ADMIN) as client:
            kpis = await client.get("/kpis")
        assert kpis.status_code == 200, kpis.text

    spans = [s for s in exporter.get_finished_spans() if ids(s)[0] == trace_id]
    by_id = {ids(s)[1]: s for s in spans}

    def parent_of(span: ReadableSpan) -> ReadableSpan | None:
        return by_id.get(span.parent.span_id) if span.parent is not None else None

    # The webhook's server span is the root, in the connector.
    (webhook,) = [s for s in spans if s.kind is SpanKind.SERVER]
    assert webhook.name == "POST /webhooks/generic"
    assert webhook.parent is None
    assert service_of(webhook) == "switchboard-chat"
    assert webhook.attributes is not None
    assert webhook.attributes["switchboard.request_id"] == request_id
    assert webhook.attributes["http.response.status_code"] == 202

    # The connector's publish, child of the webhook.
    (publish,) = [s for s in spans if s.name == f"send {INTERACTIONS_TOPIC}"]
    assert parent_of(publish) is webhook

    # Routing's batch span continues the record's context; its transaction writes the offer.
    routing_batches = [
        s for s in spans if s.kind is SpanKind.CONSUMER and service_of(s) == "switchboard-routing"
    ]
    assert routing_batches
    assert all(parent_of(s) is publish for s in routing_batches)
    offer = by_id[offer_span_id]
    assert offer.name == f"send {ROUTING_TOPIC}"
    assert service_of(offer) == "switchboard-routing"
    assert offer.kind is SpanKind.PRODUCER
    # The offer left through the outbox: its send span's parent is the transaction that wrote it.
    transaction = parent_of(offer)
    assert transaction is not None
    assert transaction.name == "transaction"
    assert parent_of(transaction) in routing_batches

    # Metrics consumed the offer in the same trace, and updated its KPIs in a transaction.
    assert ids(metrics_batch)[0] == trace_id
    updates = [s for s in spans if parent_of(s) is metrics_batch and s.name == "transaction"]
    assert updates
    assert {service_of(s) for s in spans} >= {
        "switchboard-chat",
        "switchboard-routing",
        "switchboard-metrics",
    }


@pytest.mark.usefixtures("stack_env", "no_otel_env")
async def test_with_tracing_off_no_span_is_made_and_records_carry_no_trace_context(
    broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    for kind in (sdk_trace.Span, NonRecordingSpan):
        original = kind.__init__

        def counted(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> None:
            made.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(kind, "__init__", counted)

    async with services(broker) as (chat_url, _, _):
        assert [tracing.tracer(name) for name in ("chat", "routing", "metrics")] == [None] * 3
        key, _ = await customer_writes(chat_url)
        offer = await offered_record(broker, key)
        interactions = await read_topic(
            broker, INTERACTIONS_TOPIC, until=lambda rs: any(r.key == key.encode() for r in rs)
        )

    published = [r for r in interactions if r.key == key.encode()] + [offer]
    for record in published:
        assert header(record, "traceparent") is None
        assert header(record, "tracestate") is None
    # Not even a non-recording span: the untraced paths never reach the OpenTelemetry API
    # (nor does FastAPI's own telemetry, which waits for a global provider we never set).
    assert made == []


@pytest.mark.usefixtures("stack_env")
async def test_a_webhook_and_a_consumed_batch_each_log_one_line_with_their_trace(
    broker: str, exporter: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    handlers = root.handlers[:]
    try:
        async with services(broker) as (chat_url, _, _):
            conversation = f"trace-{uuid.uuid4().hex}"
            token = f"tok-{uuid.uuid4().hex}"
            body, headers = signed(
                {
                    "message_id": f"m-{uuid.uuid4().hex}",
                    "conversation_id": conversation,
                    "sender": {"id": "u-8"},
                    "text": "Hello",
                }
            )
            async with httpx.AsyncClient(base_url=chat_url) as client:
                accepted = await client.post(
                    f"/webhooks/generic?token={token}",
                    content=body,
                    headers={**headers, "X-Request-ID": "req-from-the-edge"},
                )
            assert accepted.status_code == 202, accepted.text
            assert accepted.headers["x-request-id"] == "req-from-the-edge"
            key = f"generic:{conversation}"

            def routing_batch(line: dict[str, Any]) -> bool:
                return bool(
                    line["message"] == "batch handled"
                    and line["group"].startswith("routing-trace")
                    and key in line["conversation_keys"]
                )

            async def logged() -> list[dict[str, Any]] | None:
                lines = json_lines(capsys.readouterr().err)
                seen.extend(lines)
                return [line for line in seen if routing_batch(line)] or None

            seen: list[dict[str, Any]] = []
            (batch,) = await eventually(logged, what="routing's batch line")
    finally:
        root.handlers[:] = handlers

    (webhook,) = [
        line
        for line in seen
        if line["message"] == "request handled" and line["route"] == "/webhooks/generic"
    ]
    (server,) = [s for s in exporter.get_finished_spans() if s.name == "POST /webhooks/generic"]
    trace_hex = format(ids(server)[0], "032x")
    assert webhook["request_id"] == "req-from-the-edge"
    assert webhook["status"] == 202
    assert webhook["event_ids"] == accepted.json()["event_ids"]
    assert webhook["conversation_keys"] == [key]
    assert webhook["trace_id"] == trace_hex
    assert batch["trace_id"] == trace_hex
    assert set(accepted.json()["event_ids"]) <= set(batch["event_ids"])
    (access,) = [
        line
        for line in seen
        if line["logger"] == "uvicorn.access" and "/webhooks/generic" in line["message"]
    ]
    assert access["request_id"] == "req-from-the-edge"
    assert token not in "".join(str(line) for line in seen)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("stack_env")
async def test_a_delivery_and_its_provider_call_are_spans_that_name_no_token(
    broker: str,
    exporter: InMemorySpanExporter,
    producer: EventProducer,
    emulator: ProviderEmulator,
    fixture_secrets: dict[str, str],
) -> None:
    bot_token = f"123456:{uuid.uuid4().hex}"
    path = f"/bot{bot_token}/sendMessage"
    emulator.script(path, Answer(200, {"ok": True, "result": {"message_id": 91}}))
    app = social_app(
        fixture_secrets,
        SOCIAL_TELEGRAM_API_URL=emulator.url,
        SOCIAL_TELEGRAM_BOT_TOKEN=bot_token,
    )
    async with serving(app):
        sent = telegram_reply(f"telegram:{uuid.uuid4().int % 10**9}")
        await publish_interactions(producer, [sent])
        records = await read_topic(
            broker,
            INTERACTIONS_TOPIC,
            until=lambda rs: any(v.get("status_of") == str(sent.event_id) for v in values(rs)),
            timeout=40,
        )

    (status,) = [r for r in records if values([r])[0].get("status_of") == str(sent.event_id)]
    spans = exporter.get_finished_spans()
    (deliver,) = [s for s in spans if s.name == "deliver telegram"]
    children = [s for s in spans if s.parent == deliver.context]
    (call,) = [s for s in children if s.name == "POST"]
    # The outcome settled in a transaction of the same trace.
    assert "transaction" in [s.name for s in children]
    assert service_of(deliver) == "switchboard-social"
    assert call.attributes is not None
    assert call.attributes["http.request.method"] == "POST"
    assert call.attributes["http.response.status_code"] == 200
    assert call.attributes["server.address"] == "127.0.0.1"
    assert bot_token not in str([dict(s.attributes or {}) for s in spans])
    # The message.status left through the outbox, in the delivery's trace.
    traceparent = header(status, "traceparent")
    assert traceparent is not None
    assert traceparent.decode().split("-")[1] == format(ids(deliver)[0], "032x")


def telegram_reply(conversation_key: str) -> InteractionEvent:
    """An agent's reply to a Telegram chat, as routing publishes it."""
    now, reply_id = utc_now(), str(uuid.uuid4())
    chat = conversation_key.split(":")[1]
    return InteractionEvent(
        event_id=event_id_for("routing", reply_id, EventType.MESSAGE_SENT),
        type=EventType.MESSAGE_SENT,
        channel=Channel.SOCIAL,
        provider="telegram",
        direction=Direction.OUTBOUND,
        occurred_at=now,
        received_at=now,
        customer=Customer(id=chat),
        conversation_key=conversation_key,
        content=Content(text="On its way"),
        agent_id="agent-7",
        raw_ref=reply_id,
        provider_meta={"customer_last_message_at": now.isoformat()},
    )


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, False),
    ],
)
def test_tracing_is_on_only_when_an_exporter_or_an_endpoint_is_set(
    environ: dict[str, str], on: bool
) -> None:
    assert tracing.requested(environ) is on
