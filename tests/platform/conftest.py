"""Fixtures of the platform tests: tracing into memory, or an environment without OTEL_*."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import tracing
from tests.support.tracing import OTEL_VARIABLES


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
