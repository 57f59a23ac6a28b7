"""With tracing on: a webhook's and a consumed batch's log lines name their trace; a reply's
delivery and its provider call are spans that name no token."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import httpx
import orjson
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared.clock import utc_now
from shared.events import (
    INTERACTIONS_TOPIC,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)
from shared.kafka import EventProducer, publish_interactions
from tests.platform.test_end_to_end import signed
from tests.routing.support import eventually
from tests.social.conftest import social_app
from tests.support.emulator import Answer, ProviderEmulator
from tests.support.kafka import read_topic, values
from tests.support.server import serving
from tests.support.tracing import header, ids, service_of, services


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
