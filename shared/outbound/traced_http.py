"""A span around each HTTP call the delivery worker's client makes, when tracing is on."""

from __future__ import annotations

import httpx
from opentelemetry.trace import SpanKind, StatusCode, Tracer

__all__ = ["TracedTransport"]


class TracedTransport(httpx.AsyncBaseTransport):
    """Wraps ``inner`` so that each request is a client span.

    The span names the method, the host and the status, never the URL: some providers
    carry a token in the path (Telegram's bot URLs) or the query.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, tracer: Tracer) -> None:
        self._inner = inner
        self._tracer = tracer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attributes = {
            "http.request.method": request.method,
            "server.address": request.url.host,
            "url.scheme": request.url.scheme,
        }
        with self._tracer.start_as_current_span(
            request.method, kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            response = await self._inner.handle_async_request(request)
            span.set_attribute("http.response.status_code", response.status_code)
            if response.status_code >= 400:
                span.set_status(StatusCode.ERROR, f"HTTP {response.status_code}")
            return response

    async def aclose(self) -> None:
        await self._inner.aclose()
