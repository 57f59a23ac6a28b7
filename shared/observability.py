"""Prometheus metrics every service exposes on ``/metrics``; each request's span and log line.

A service run with several worker processes (``uvicorn --workers N``) sets
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder of its own: every process then writes its
samples there and ``/metrics`` answers the sum over them, whichever process serves it.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import AbstractContextManager, nullcontext

from opentelemetry.trace import Span, SpanKind, StatusCode, Tracer, use_span
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.request_log import RequestNote, close_request, open_request, request_id_from

__all__ = [
    "CONSUMER_LAG",
    "CONSUMER_REBUILDS",
    "EVENTS_CONSUMED",
    "EVENTS_DEAD_LETTERED",
    "EVENTS_PUBLISHED",
    "PUBLISH_FAILURES",
    "REQUESTS",
    "REQUEST_SECONDS",
    "RequestMetricsMiddleware",
    "exposition",
    "forget_this_process",
]

#: Where worker processes share their samples, when a service runs several.
MULTIPROCESS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")

log = logging.getLogger("switchboard.requests")

#: Requests that change something get a log line; reads and probes only the access log.
_LOGGED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Probes and scrapes: no span (a trace every few seconds per pod says nothing).
_UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

REQUESTS = Counter(
    "switchboard_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "switchboard_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter(
    "switchboard_events_published_total", "Records acknowledged by the broker.", ["topic"]
)
PUBLISH_FAILURES = Counter(
    "switchboard_publish_failures_total", "Publishes the broker did not acknowledge.", ["topic"]
)
EVENTS_CONSUMED = Counter(
    "switchboard_events_consumed_total",
    "Records a consumer finished with.",
    ["topic", "group", "outcome"],
)
EVENTS_DEAD_LETTERED = Counter(
    "switchboard_events_dead_lettered_total", "Records sent to a dead-letter topic.", ["topic"]
)
# Each process's consumer holds its own partitions: their lags add up.
CONSUMER_LAG = Gauge(
    "switchboard_consumer_lag",
    "Records behind the end of the partition.",
    ["topic", "group"],
    multiprocess_mode="livesum",
)
CONSUMER_REBUILDS = Gauge(
    "switchboard_consumer_rebuilds",
    "Times a consumer rebuilt itself after stalling.",
    ["group"],
    multiprocess_mode="livesum",
)


def exposition() -> tuple[bytes, str]:
    """The text of ``/metrics`` and its content type: this process's samples, or every
    worker's summed when the service runs several."""
    if MULTIPROCESS_DIR is None:
        return generate_latest(), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def forget_this_process() -> None:
    """At exit: this process's live gauges leave the sums (its counters stay counted)."""
    if MULTIPROCESS_DIR is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class RequestMetricsMiddleware:
    """Counts and times requests per route template (not per raw path, to bound cardinality).

    Each request also gets an id (the client's ``X-Request-ID`` when sane, else a new one,
    echoed in the response), a server span while tracing is on, and, when
    it changes something (a webhook, an API write), one log line: its outcome, the events
    it published, their conversation keys and its trace id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        headers = dict(scope["headers"])
        note, token = open_request(request_id_from(headers.get(b"x-request-id")))
        # The running service's tracer (see shared.service.Runtime), None while tracing is off.
        tracer: Tracer | None = getattr(
            getattr(scope["app"].state, "runtime", None), "tracer", None
        )
        span: Span | None = None
        scoped: AbstractContextManager[object] = nullcontext()
        if tracer is not None and scope["path"] not in _UNTRACED_PATHS:
            carried = [(n.decode(), headers.get(n)) for n in (b"traceparent", b"tracestate")]
            span = tracer.start_span(
                scope["method"],
                context=tracing.extract([(n, v) for n, v in carried if v is not None]),
                kind=SpanKind.SERVER,
                attributes={
                    "http.request.method": scope["method"],
                    "url.path": scope["path"],
                    "switchboard.request_id": note.request_id,
                },
            )
            scoped = use_span(span, end_on_exit=False, record_exception=True)

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", note.request_id.encode()),
                ]
            await send(message)

        try:
            with scoped:
                await self.app(scope, receive, send_and_record)
        finally:
            close_request(token)
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            elapsed = time.perf_counter() - started
            REQUESTS.labels(method, template, str(status)).inc()
            REQUEST_SECONDS.labels(method, template).observe(elapsed)
            trace_id = _end(span, method, template, status) if span is not None else None
            if method in _LOGGED_METHODS:
                _log_outcome(note, method, template, status, elapsed, trace_id)


def _end(span: Span, method: str, route: str, status: int) -> str:
    span.update_name(f"{method} {route}")
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(StatusCode.ERROR, f"HTTP {status}")
    span.end()
    return format(span.get_span_context().trace_id, "032x")


def _log_outcome(
    note: RequestNote, method: str, route: str, status: int, elapsed: float, trace_id: str | None
) -> None:
    log.info(
        "request handled",
        extra={
            "request_id": note.request_id,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 2),
            "event_ids": note.event_ids,
            "conversation_keys": note.conversation_keys,
            "trace_id": trace_id,
        },
    )
