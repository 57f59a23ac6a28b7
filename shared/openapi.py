"""The OpenAPI document of the webhooks: their bodies and how each provider signs them.

Webhook endpoints read their raw body (a signature is computed over its bytes), so FastAPI
cannot see what they take. Each one states it with ``openapi_extra=webhook(...)``; nothing of
it runs per request: the document is post-processed once, when it is first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from pydantic import TypeAdapter

__all__ = ["SIGNATURES", "document_webhooks", "webhook"]

#: How each provider proves a request is its own, as OpenAPI security schemes.
SIGNATURES: dict[str, dict[str, str]] = {
    "StandardWebhooks": {
        "type": "apiKey",
        "in": "header",
        "name": "webhook-signature",
        "description": "Standard Webhooks: `v1,<base64 HMAC-SHA256 of "
        '"{webhook-id}.{webhook-timestamp}.{body}">` with the source\'s `whsec_` secret; '
        "`webhook-id` and `webhook-timestamp` (Unix seconds, within five minutes) are sent too.",
    },
    "MetaSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Hub-Signature-256",
        "description": "`sha256=<hex HMAC-SHA256 of the body>` with the Meta app secret.",
    },
    "XSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twitter-Webhooks-Signature",
        "description": "`sha256=<base64 HMAC-SHA256 of the body>` with the consumer secret.",
    },
    "TelegramSecret": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Telegram-Bot-Api-Secret-Token",
        "description": "The secret token given to setWebhook.",
    },
    "SlackSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Slack-Signature",
        "description": '`v0=<hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{body}">` with '
        "the signing secret; the timestamp within five minutes.",
    },
    "TwilioSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Twilio-Signature",
        "description": "Base64 HMAC-SHA1 of the public URL followed by the form's sorted names "
        "and values, with the account's auth token.",
    },
    "MailgunSignature": {
        "type": "apiKey",
        "in": "query",
        "name": "signature",
        "description": "Sent as form fields, not a header: `timestamp`, `token` and "
        "`signature` = hex HMAC-SHA256 of timestamp + token with the signing key; a token is "
        "accepted once.",
    },
    "BasicAuth": {
        "type": "http",
        "scheme": "basic",
        "description": "The user and password configured in the provider's inbound URL.",
    },
    "BearerToken": {"type": "http", "scheme": "bearer", "description": "The endpoint's token."},
}


def webhook(
    *,
    signature: str,
    body: Any = None,
    media_type: str = "application/json",
    form: dict[str, str] | None = None,
    example: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``openapi_extra`` of a webhook: signed with ``signature`` (a key of
    :data:`SIGNATURES`), taking ``body`` (a model, or a union of them) or ``form`` (field
    name: meaning)."""
    if signature not in SIGNATURES:
        raise KeyError(f"unknown signature scheme {signature!r}")
    extra: dict[str, Any] = {"security": [{signature: []}]}
    schema: dict[str, Any] | None = None
    if body is not None:
        schema = TypeAdapter(body).json_schema(ref_template="#/$defs/{model}")
    elif form is not None:
        properties = {name: {"type": "string", "description": text} for name, text in form.items()}
        schema = {"type": "object", "properties": properties}
    if schema is not None:
        content: dict[str, Any] = {"schema": schema}
        if example is not None:
            content["example"] = example
        extra["requestBody"] = {"required": True, "content": {media_type: content}}
    return extra


def _move_definitions(node: Any, found: dict[str, Any]) -> Any:
    """``node`` with every ``$defs`` taken out into ``found`` and references rewritten."""
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            found[name] = _move_definitions(definition, found)
        return {
            key: (
                value.replace("#/$defs/", "#/components/schemas/")
                if key == "$ref" and isinstance(value, str)
                else _move_definitions(value, found)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_move_definitions(value, found) for value in node]
    return node


def document_webhooks(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document carry the webhooks' bodies and signature schemes."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        definitions: dict[str, Any] = {}
        document["paths"] = _move_definitions(document.get("paths", {}), definitions)
        components = document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name, definition in definitions.items():
            schemas.setdefault(name, definition)
        used = {
            scheme
            for item in document["paths"].values()
            for operation in item.values()
            for requirement in operation.get("security", [])
            for scheme in requirement
        }
        schemes = components.setdefault("securitySchemes", {})
        for name in sorted(used & SIGNATURES.keys()):
            schemes.setdefault(name, SIGNATURES[name])
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
