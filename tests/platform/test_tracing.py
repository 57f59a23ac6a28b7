"""One trace from a provider's webhook to the metrics' KPI update, and nothing when tracing is off.

The chat connector, routing and metrics run in this process against the real broker and
Postgres; their spans go to an in-memory exporter.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanKind

from services.social.models import outbox
from shared import tracing
from shared.db import Database
from shared.events import INTERACTIONS_TOPIC, ROUTING_TOPIC
from shared.kafka import EventProducer, OutgoingRecord
from shared.kafka.topics import ensure_topics
from shared.outbox import OutboxRelay, enqueue
from shared.settings import PlatformSettings
from tests.routing.support import eventually
from tests.support import ledger
from tests.support.kafka import read_topic
from tests.support.tracing import (
    METRICS_ADMIN,
    customer_writes,
    header,
    ids,
    offered_record,
    service_of,
    services,
)


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


async def test_the_outbox_keeps_a_records_headers_and_the_trace_of_the_transaction_that_wrote_it(
    broker: str, platform: PlatformSettings, producer: EventProducer, database: Database
) -> None:
    topic = ledger.new_topic()
    await ensure_topics(platform, [topic])
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("test")
    traced = Database(platform, tracer=tracer)
    try:
        with tracer.start_as_current_span("writer"):
            async with traced.transaction() as session:
                record = OutgoingRecord(topic, b"k", b"v", (("x-note", b"kept"),))
                await enqueue(session, outbox, [record])
    finally:
        await traced.close()
    # An untraced relay, later: the record still carries its writer's context.
    relay = OutboxRelay(database=database, producer=producer, table=outbox)
    while await relay.relay_once():
        pass

    (published,) = await read_topic(broker, topic)
    assert header(published, "x-note") == b"kept"
    traceparent = header(published, "traceparent")
    assert traceparent is not None
    (transaction,) = [s for s in spans.get_finished_spans() if s.name == "transaction"]
    _, trace_hex, parent_hex, _ = traceparent.decode().split("-")
    assert (int(trace_hex, 16), int(parent_hex, 16)) == ids(transaction)
