"""The events services exchange over Kafka, and their JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from shared.events.access import ACCESS_TOPIC, AccessEvent, CredentialChange, Role
from shared.events.customer import (
    CUSTOMERS_TOPIC,
    CustomerEvent,
    CustomerEventType,
    customer_event_id,
)
from shared.events.interaction import (
    EVENT_ID_NAMESPACE,
    INTERACTIONS_TOPIC,
    Attachment,
    CallDisposition,
    CallInfo,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    MessageStatus,
    SurveyAnswer,
    event_id_for,
)
from shared.events.privacy import (
    PRIVACY_TOPIC,
    ErasedConversation,
    ErasedIdentity,
    ErasureEvent,
    PrivacyStep,
)
from shared.events.routing import ROUTING_TOPIC, LifecycleStep, RoutingEvent
from shared.events.schedule import Schedule

__all__ = [
    "ACCESS_TOPIC",
    "CUSTOMERS_TOPIC",
    "EVENT_ID_NAMESPACE",
    "INTERACTIONS_TOPIC",
    "PRIVACY_TOPIC",
    "ROUTING_TOPIC",
    "SCHEMA_DIR",
    "AccessEvent",
    "Attachment",
    "CallDisposition",
    "CallInfo",
    "Channel",
    "Content",
    "CredentialChange",
    "Customer",
    "CustomerEvent",
    "CustomerEventType",
    "Direction",
    "ErasedConversation",
    "ErasedIdentity",
    "ErasureEvent",
    "EventType",
    "InteractionEvent",
    "LifecycleStep",
    "MessageStatus",
    "PrivacyStep",
    "Role",
    "RoutingEvent",
    "Schedule",
    "SurveyAnswer",
    "customer_event_id",
    "event_id_for",
    "render_schemas",
]

#: Where the generated JSON Schemas are committed.
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"

_SCHEMAS: dict[str, type[BaseModel]] = {
    f"{INTERACTIONS_TOPIC}.schema.json": InteractionEvent,
    f"{ROUTING_TOPIC}.schema.json": RoutingEvent,
    f"{ACCESS_TOPIC}.schema.json": AccessEvent,
    f"{PRIVACY_TOPIC}.schema.json": ErasureEvent,
    f"{CUSTOMERS_TOPIC}.schema.json": CustomerEvent,
}


def render_schemas() -> dict[str, str]:
    """Return each committed schema file's name and the text the models generate for it."""
    return {
        name: json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"
        for name, model in _SCHEMAS.items()
    }
