"""The message.status events a connector publishes about its own deliveries."""

from __future__ import annotations

from datetime import datetime

from shared.events import (
    Content,
    Direction,
    EventType,
    InteractionEvent,
    MessageStatus,
    event_id_for,
)

__all__ = ["is_agent_reply", "status_event"]


def is_agent_reply(event: InteractionEvent) -> bool:
    """An agent's reply as routing publishes it, not a message a provider reported as sent.

    Routing derives the event id from the reply id it puts in ``raw_ref``; a generic
    webhook's own outbound message (sent by the customer's tool itself) has another id.
    """
    return (
        event.type is EventType.MESSAGE_SENT
        and event.direction is Direction.OUTBOUND
        and event.raw_ref is not None
        and event.event_id == event_id_for("routing", event.raw_ref, EventType.MESSAGE_SENT)
    )


def status_event(
    reply: InteractionEvent,
    status: MessageStatus,
    *,
    at: datetime,
    reason: str | None = None,
    provider_message_id: str | None = None,
) -> InteractionEvent:
    """The ``message.status`` of ``reply``; one id per reply and status, so it counts once."""
    return InteractionEvent(
        event_id=event_id_for(
            reply.provider, f"{reply.event_id}:{status}", EventType.MESSAGE_STATUS
        ),
        type=EventType.MESSAGE_STATUS,
        channel=reply.channel,
        provider=reply.provider,
        direction=Direction.OUTBOUND,
        occurred_at=at,
        received_at=at,
        customer=reply.customer,
        conversation_key=reply.conversation_key,
        content=Content(status=status, status_reason=reason[:1024] if reason else None),
        agent_id=reply.agent_id,
        # The status of routing's own automated message is not an agent's reply's.
        automated=reply.automated,
        status_of=reply.event_id,
        raw_ref=provider_message_id,
    )
