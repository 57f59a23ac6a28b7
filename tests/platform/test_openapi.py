"""The OpenAPI documents say how to call each endpoint: security schemes, fixed choices."""

from __future__ import annotations

from typing import Any

from services.metrics.app import create_app as create_metrics


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def test_metrics_reads_declare_the_bearer_scheme_and_the_granularities() -> None:
    document = create_metrics().openapi()
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["HTTPBearer"]["description"],
    }
    for path in ("/kpis", "/kpis/agents", "/kpis/queues", "/exports/conversations.csv"):
        assert operation(document, "get", path)["security"] == [{"HTTPBearer": []}], path
        names = [p["name"] for p in operation(document, "get", path)["parameters"]]
        assert "authorization" not in names, path
    (granularity,) = [
        p for p in operation(document, "get", "/kpis")["parameters"] if p["name"] == "granularity"
    ]
    assert granularity["schema"]["enum"] == ["minute", "hour", "day"]
