"""Tracing turned on by OTEL_EXPORTER_OTLP_ENDPOINT alone: spans reach a collector over
OTLP/HTTP, and those still buffered leave when the service stops."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from shared.service import create_service_app
from shared.settings import PlatformSettings
from tests.support.server import serving
from tests.support.tracing import OTEL_VARIABLES


class Collector:
    """An OTLP/HTTP trace receiver on a real port: what it was sent, decoded."""

    def __init__(self) -> None:
        self.requests: list[ExportTraceServiceRequest] = []
        self.paths: list[str] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                collector.paths.append(self.path)
                collector.requests.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()
                self.wfile.write(b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[tuple[str, str]]:
        """(service.name, span name) of every span received."""
        found = []
        for request in self.requests:
            for resource_spans in request.resource_spans:
                service = next(
                    a.value.string_value
                    for a in resource_spans.resource.attributes
                    if a.key == "service.name"
                )
                for scope_spans in resource_spans.scope_spans:
                    found += [(service, span.name) for span in scope_spans.spans]
        return found


@pytest.fixture
def collector(monkeypatch: pytest.MonkeyPatch) -> Iterator[Collector]:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    receiver = Collector()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


async def test_an_otlp_endpoint_turns_tracing_on_and_stopping_flushes_the_spans(
    collector: Collector, platform: PlatformSettings
) -> None:
    app = create_service_app(name="probe", description="trace probe", platform=platform)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/nowhere")).status_code == 404
        assert (await client.get("/healthz")).status_code == 200

    assert collector.paths == ["/v1/traces"]
    # The probe is untraced; the unknown page is a server span of the default service name.
    assert collector.spans() == [("switchboard-probe", "GET unmatched")]
