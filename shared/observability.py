"""Prometheus metrics every service exposes on ``/metrics``."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram
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
]

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
CONSUMER_LAG = Gauge(
    "switchboard_consumer_lag", "Records behind the end of the partition.", ["topic", "group"]
)
CONSUMER_REBUILDS = Gauge(
    "switchboard_consumer_rebuilds", "Times a consumer rebuilt itself after stalling.", ["group"]
)


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
