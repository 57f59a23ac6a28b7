"""The AsyncAPI 3 document of the topics, generated from the event models.

``make schema`` writes ``docs/asyncapi.yaml``; a test fails when the committed file and the
models disagree. Who writes and reads each topic, and its key, are stated here once.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from shared.events import (
    ACCESS_TOPIC,
    CUSTOMERS_TOPIC,
    INTERACTIONS_TOPIC,
    PRIVACY_TOPIC,
    ROUTING_TOPIC,
    AccessEvent,
    CustomerEvent,
    ErasureEvent,
    InteractionEvent,
    RoutingEvent,
)
from shared.kafka import dead_letter_topic

__all__ = ["ASYNCAPI_PATH", "TOPICS", "render_asyncapi"]

ASYNCAPI_PATH = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.yaml"


@dataclass(frozen=True)
class Topic:
    address: str
    model: type[BaseModel]
    key: str
    writers: str
    readers: str


TOPICS = (
    Topic(
        INTERACTIONS_TOPIC,
        InteractionEvent,
        "the conversation key (UTF-8)",
        "the connectors (customers' messages, calls, statuses of delivered replies); routing "
        "(agents' replies, message.sent); metrics (survey.response)",
        "routing, metrics, and each connector that delivers replies",
    ),
    Topic(
        ROUTING_TOPIC,
        RoutingEvent,
        "the conversation key; the agent id on agent.* steps; the surviving contact id on "
        "contact.merged",
        "routing, through its outbox",
        "metrics; the phone connector (accepted calls to connect)",
    ),
    Topic(
        ACCESS_TOPIC,
        AccessEvent,
        "the credential id",
        "routing, through its outbox",
        "metrics (from the start of the topic)",
    ),
    Topic(
        PRIVACY_TOPIC,
        ErasureEvent,
        "the contact id",
        "routing, through its outbox (POST /admin/contacts/{id}/erase)",
        "chat, email, phone, social and metrics, each erasing its own rows",
    ),
    Topic(
        CUSTOMERS_TOPIC,
        CustomerEvent,
        "the contact id",
        "routing, through its outbox (POST /customers/events, POST /admin/customers/import)",
        "metrics (retention, churn, lifetime value)",
    ),
)

#: What a dead letter adds to the original record's headers.
DEAD_LETTER_HEADERS = {
    "dlq.error": "why the record failed (the exception's type and message, never values)",
    "dlq.consumer": "the consumer group that gave up on it",
    "dlq.topic": "the topic it came from",
    "dlq.partition": "its partition there",
    "dlq.offset": "its offset there",
    "dlq.failed_at": "when (ISO 8601, UTC)",
    "dlq.value_dropped": "present when the value was too large to keep: its size in bytes",
}


#: Headers any record may carry: the writer's W3C trace context, when tracing is on.
TRACE_HEADERS = {
    "traceparent": "W3C trace context of the span that wrote the record (tracing on only)",
    "tracestate": "W3C vendor trace state, with traceparent",
}


def _header_schema(headers: dict[str, str]) -> dict[str, Any]:
    properties = {name: {"type": "string", "description": text} for name, text in headers.items()}
    return {"type": "object", "properties": properties}


def _hoisted(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """The model's schema with its definitions moved into ``schemas``; a reference to it."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _dead_letter_message(topic: Topic) -> dict[str, Any]:
    return {
        "name": f"{topic.model.__name__}DeadLetter",
        "title": f"A {topic.address} record a consumer could not handle",
        "contentType": "application/json",
        "summary": "The original key, value and headers, plus dlq.* headers. "
        "`make dlq-replay TOPIC=...` republishes it to its topic.",
        "headers": _header_schema({**TRACE_HEADERS, **DEAD_LETTER_HEADERS}),
        "payload": {"$ref": f"#/components/schemas/{topic.model.__name__}"},
        "bindings": {"kafka": {"key": {"type": "string", "description": topic.key}}},
    }


def asyncapi_document() -> dict[str, Any]:
    """The whole document, as a mapping."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for topic in TOPICS:
        name = topic.model.__name__
        channel = topic.address.replace(".", "-")
        messages[name] = {
            "name": name,
            "title": (topic.model.__doc__ or name).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": _header_schema(TRACE_HEADERS),
            "payload": _hoisted(topic.model, schemas),
            "bindings": {"kafka": {"key": {"type": "string", "description": topic.key}}},
        }
        messages[f"{name}DeadLetter"] = _dead_letter_message(topic)
        channels[channel] = {
            "address": topic.address,
            "description": f"Written by {topic.writers}. Read by {topic.readers}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
        }
        channels[f"{channel}-dlq"] = {
            "address": dead_letter_topic(topic.address),
            "description": f"Dead letters of {topic.address}, written by any of its consumers.",
            "messages": {f"{name}DeadLetter": {"$ref": f"#/components/messages/{name}DeadLetter"}},
        }
        for action, who in (("send", topic.writers), ("receive", topic.readers)):
            operations[f"{action}-{channel}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel}"},
                "summary": who,
            }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Switchboard events",
            "version": "1",
            "description": "The topics the services meet on. Generated from the event models "
            "by `make schema`; docs/design.md explains the contracts.",
        },
        "servers": {
            "embedded": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "make run's embedded broker",
            },
            "compose": {
                "host": "kafka:9092",
                "protocol": "kafka",
                "description": "docker-compose.yml's Apache Kafka",
            },
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": copy.deepcopy(schemas)},
    }


def render_asyncapi() -> str:
    """The document as the committed YAML text."""
    text: str = yaml.safe_dump(asyncapi_document(), sort_keys=False, allow_unicode=True, width=100)
    return text


if __name__ == "__main__":
    ASYNCAPI_PATH.write_text(render_asyncapi())
    print(f"wrote {ASYNCAPI_PATH}")
