"""OpenTelemetry tracing, configured by the standard ``OTEL_*`` variables and off by default.

Tracing is on when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``), or
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set (the
exporter is then ``otlp``); ``OTEL_TRACES_EXPORTER=none`` or ``OTEL_SDK_DISABLED=true``
keeps it off. The SDK reads the rest itself: ``OTEL_SERVICE_NAME`` (default
``switchboard-<service>``), ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_TRACES_SAMPLER`` and its
argument, the exporter's endpoint, headers, timeout and certificates. OTLP goes over
HTTP (``http/protobuf``).

When off, :func:`tracer` answers None and every instrumented path takes its untraced
branch: no span object, no context lookup, no header. The trace context travels in Kafka
record headers as W3C ``traceparent`` and ``tracestate`` (:func:`inject`, :func:`extract`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.trace import Link, Span, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = [
    "TRACE_HEADERS",
    "current_trace_id",
    "extract",
    "in_trace",
    "inject",
    "links_and_parent",
    "requested",
    "service_name",
    "start",
    "stop",
    "trace_to",
    "tracer",
    "tracing_off",
    "with_trace_headers",
]

log = logging.getLogger(__name__)

#: The Kafka record headers that carry the trace context.
TRACE_HEADERS = ("traceparent", "tracestate")

_PROPAGATOR = TraceContextTextMapPropagator()

#: service name -> its provider, while tracing is on for it.
_providers: dict[str, TracerProvider] = {}
_tracers: dict[str, Tracer] = {}
#: How many running instances of each service use its provider.
_users: dict[str, int] = {}
#: Set by :func:`trace_to` (tests): every service sends its spans there, whatever the env.
_forced: SpanProcessor | None = None


def _exporter_names(environ: Mapping[str, str]) -> list[str]:
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    named = [
        n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()
    ]
    if named:
        return [n for n in named if n != "none"]
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return ["otlp"] if any(environ.get(name, "").strip() for name in endpoints) else []


def requested(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment turns tracing on (see the module's docstring for the rule)."""
    return _forced is not None or bool(_exporter_names(os.environ if environ is None else environ))


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        return ConsoleSpanExporter()
    if name != "otlp":
        raise ValueError(f"OTEL_TRACES_EXPORTER={name!r}: this build exports to otlp or console")
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol.strip() not in ("", "http/protobuf"):
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r}: this build sends OTLP over http/protobuf"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


def start(service: str) -> Tracer | None:
    """Set up tracing for ``service`` when the environment asks for it; its tracer or None.

    Call it from the service's lifespan (the batch exporter runs a thread) and
    :func:`stop` at shutdown. A service's spans carry ``service.name`` from
    ``OTEL_SERVICE_NAME``, or ``switchboard-<service>``.
    """
    if service in _tracers:
        _users[service] += 1
        return _tracers[service]
    names = [] if _forced is not None else _exporter_names(os.environ)
    if _forced is None and not names:
        return None
    attributes = (
        {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": service_name(service)}
    )
    # The sampler comes from OTEL_TRACES_SAMPLER (default: parent-based, always on).
    provider = TracerProvider(resource=Resource.create(attributes))
    if _forced is not None:
        provider.add_span_processor(_forced)
    for name in names:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    _providers[service] = provider
    _tracers[service] = provider.get_tracer(f"switchboard.{service}")
    _users[service] = 1
    log.info("tracing on", extra={"exporters": names or ["test"]})
    return _tracers[service]


def service_name(service: str) -> str:
    """The ``service.name`` of ``service``'s spans when ``OTEL_SERVICE_NAME`` is unset."""
    return f"switchboard-{service}"


def tracer(service: str) -> Tracer | None:
    """``service``'s tracer while tracing is on for it, else None (take the untraced path)."""
    return _tracers.get(service)


def stop(service: str) -> None:
    """Export what ``service``'s spans are still buffered, and stop tracing it.

    Two instances of one service in a process (tests) share its provider: the last to stop
    shuts it down.
    """
    _users[service] = _users.get(service, 1) - 1
    if _users[service] > 0:
        return
    del _users[service]
    _tracers.pop(service, None)
    provider = _providers.pop(service, None)
    if provider is None:
        return
    if _forced is None:
        provider.shutdown()  # flushes the batch processors first


def trace_to(processor: SpanProcessor) -> None:
    """Send every service's spans to ``processor`` from now on, whatever the environment.

    For tests (with an in-memory exporter); services started before keep their state.
    """
    global _forced
    _forced = processor


def tracing_off() -> None:
    """Undo :func:`trace_to`: services started from now on follow the environment again."""
    global _forced
    _forced = None


def inject(span: Span) -> tuple[tuple[str, bytes], ...]:
    """The ``traceparent`` (and ``tracestate``) headers naming ``span`` as the parent."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return tuple((name, value.encode()) for name, value in carrier.items())


def with_trace_headers(
    headers: Iterable[tuple[str, bytes]], span: Span
) -> tuple[tuple[str, bytes], ...]:
    """``headers`` whose trace context is replaced by ``span``'s."""
    kept = tuple((n, v) for n, v in headers if n not in TRACE_HEADERS)
    return kept + inject(span)


def extract(headers: Iterable[tuple[str, bytes]] | None) -> Context | None:
    """The trace context a record's headers carry, or None when they carry none."""
    if not headers:
        return None
    carrier = {n: v.decode(errors="replace") for n, v in headers if n in TRACE_HEADERS}
    if "traceparent" not in carrier:
        return None
    found = _PROPAGATOR.extract(carrier)
    if not trace.get_current_span(found).get_span_context().is_valid:
        return None
    return found


def links_and_parent(
    contexts: Iterable[Context | None],
) -> tuple[Context | None, list[Link]]:
    """A consumed batch's parent (the first record's context) and a link to each record's."""
    parent: Context | None = None
    links: list[Link] = []
    seen: set[tuple[int, int]] = set()
    for found in contexts:
        if found is None:
            continue
        parent = parent or found
        span_context = trace.get_current_span(found).get_span_context()
        ids = (span_context.trace_id, span_context.span_id)
        if ids not in seen:
            seen.add(ids)
            links.append(Link(span_context))
    return parent, links


def current_trace_id() -> str | None:
    """The current trace's id in hex (for log lines), or None outside a trace."""
    if not _tracers:
        return None
    span_context = trace.get_current_span(otel_context.get_current()).get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def in_trace() -> bool:
    """Whether the current context has a recording span (work inside a sampled trace)."""
    return trace.get_current_span().is_recording()
