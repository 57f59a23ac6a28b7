"""Factories for events, so tests state only what matters to them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.events import (
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)


def interaction(**overrides: Any) -> InteractionEvent:
    """An inbound chat message with a fresh id and conversation, overridable field by field."""
    message_id = overrides.pop("message_id", uuid.uuid4().hex)
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "event_id": event_id_for("webchat", message_id, EventType.MESSAGE_RECEIVED),
        "type": EventType.MESSAGE_RECEIVED,
        "channel": Channel.CHAT,
        "provider": "webchat",
        "direction": Direction.INBOUND,
        "occurred_at": now,
        "received_at": now,
        "customer": Customer(id=f"visitor-{message_id[:8]}", kind="session"),
        "conversation_key": f"webchat:{uuid.uuid4().hex}",
        "content": Content(text="Hello, I need help with my order"),
        "raw_ref": message_id,
    }
    fields.update(overrides)
    return InteractionEvent(**fields)
