"""The OpenAPI documents say how to call each endpoint: valid OpenAPI 3.1, every webhook's body
and signature, security schemes instead of plain Authorization parameters, fixed choices."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from services.chat.app import create_app as create_chat
from services.email.app import create_app as create_email
from services.metrics.app import create_app as create_metrics
from services.phone.app import create_app as create_phone
from services.routing.app import create_app as create_routing
from services.social.app import create_app as create_social

APPS: dict[str, Callable[[], FastAPI]] = {
    "chat": create_chat,
    "email": create_email,
    "metrics": create_metrics,
    "phone": create_phone,
    "routing": create_routing,
    "social": create_social,
}


def operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    found: dict[str, Any] = document["paths"][path][method]
    return found


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


@pytest.mark.parametrize("name", sorted(APPS))
def test_every_document_is_valid_openapi_and_its_references_resolve(name: str) -> None:
    document = APPS[name]().openapi()
    validate(document)
    for ref in refs(document):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        assert node, ref


@pytest.mark.parametrize("name", ["chat", "email", "phone", "social"])
def test_every_webhook_documents_its_body_and_signature(name: str) -> None:
    document = APPS[name]().openapi()
    schemes = document["components"]["securitySchemes"]
    webhooks = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if method == "post" and not path.startswith("/chat/")
    ]
    assert webhooks
    for path, _, op in webhooks:
        (requirement,) = op["security"]
        (scheme,) = requirement
        assert schemes[scheme]["description"], (path, scheme)
        content = op["requestBody"]["content"]
        (media,) = content.values()
        assert media["schema"], path


def test_metrics_reads_declare_the_bearer_scheme_and_the_granularities() -> None:
    document = create_metrics().openapi()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path in ("/kpis", "/kpis/agents", "/kpis/queues", "/exports/conversations.csv"):
        assert operation(document, "get", path)["security"] == [{"HTTPBearer": []}], path
        names = [p["name"] for p in operation(document, "get", path)["parameters"]]
        assert "authorization" not in names, path
    (granularity,) = [
        p for p in operation(document, "get", "/kpis")["parameters"] if p["name"] == "granularity"
    ]
    assert granularity["schema"]["enum"] == ["minute", "hour", "day"]


def test_the_generic_chat_webhook_shows_an_example() -> None:
    document = create_chat().openapi()
    body = operation(document, "post", "/webhooks/generic")["requestBody"]
    assert body["content"]["application/json"]["example"]["text"] == "Hello, my order is late"


def test_routings_agent_admin_and_supervisor_apis_declare_the_bearer_scheme() -> None:
    document = create_routing().openapi()
    guarded = [
        (path, method, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if path.startswith(("/agent", "/admin", "/supervisor"))
    ]
    assert len(guarded) > 30
    for path, method, op in guarded:
        assert {"HTTPBearer": []} in op.get("security", []), (method, path)
        names = [p["name"] for p in op.get("parameters", [])]
        assert "authorization" not in names, (method, path)
