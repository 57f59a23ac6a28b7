"""A consumed batch's span and log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aiokafka import ConsumerRecord
from opentelemetry.trace import Span, SpanKind, Tracer

from shared import tracing

__all__ = ["batch_span", "log_batch"]

log = logging.getLogger("shared.kafka.consumer")


def _topics(decoded: Sequence[tuple[ConsumerRecord, Any]]) -> list[str]:
    return sorted({record.topic for record, _ in decoded})


@contextmanager
def batch_span(
    tracer: Tracer, group_id: str, decoded: Sequence[tuple[ConsumerRecord, Any]]
) -> Iterator[Span]:
    """The current span while a batch is handled: a child of its first record's producer
    context, linked to every record's (a batch may hold several traces)."""
    parent, links = tracing.links_and_parent(tracing.extract(r.headers) for r, _ in decoded)
    with tracer.start_as_current_span(
        f"process {' '.join(_topics(decoded))}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=links,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.consumer.group.name": group_id,
            "messaging.batch.message_count": len(decoded),
        },
    ) as span:
        yield span


def log_batch(
    group_id: str, decoded: Sequence[tuple[ConsumerRecord, Any]], trace_id: str | None
) -> None:
    """One line per handled batch: its events' ids and conversation keys, its trace."""
    keys: list[str] = []
    for _, value in decoded:
        key = getattr(value, "conversation_key", None)
        if key and key not in keys:
            keys.append(key)
    log.info(
        "batch handled",
        extra={
            "group": group_id,
            "topics": _topics(decoded),
            "records": len(decoded),
            "event_ids": [str(getattr(value, "event_id", "")) for _, value in decoded],
            "conversation_keys": keys,
            "trace_id": trace_id,
        },
    )
