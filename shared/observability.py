"""Prometheus metrics every service exposes on ``/metrics``.

A service run with several worker processes (``uvicorn --workers N``) sets
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder of its own: every process then writes its
samples there and ``/metrics`` answers the sum over them, whichever process serves it.
"""

from __future__ import annotations

import os
import time

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
    """Counts and times requests per route template (not per raw path, to bound cardinality)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope["method"]
            REQUESTS.labels(method, template, str(status)).inc()
            REQUEST_SECONDS.labels(method, template).observe(time.perf_counter() - started)
