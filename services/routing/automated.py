"""Messages routing itself sends a customer (the out-of-hours reply, the survey question).

They take the agents' outbound path: a ``message.sent`` on ``interactions.v1``, marked
``automated`` and without an agent, whose connector delivers it like a reply; it is kept in
the transcript as an ``auto_reply``. Its id derives from what caused it, so a batch handled
again sends nothing twice.
"""

import uuid
from datetime import datetime

from services.routing.domain import Author, Conversation, DeliveryStatus, Message
from services.routing.unit_of_work import UnitOfWork
from shared.events import (
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)

#: Namespace of the ids of routing's own messages (uuid5 of what caused them).
AUTOMATED_NAMESPACE = uuid.UUID("6b1f3c2e-9a55-4f0e-8d7e-2f4a1c9b0e11")


def message_id(cause: str) -> uuid.UUID:
    return uuid.uuid5(AUTOMATED_NAMESPACE, cause)


async def send(
    uow: UnitOfWork,
    *,
    conversation: Conversation,
    text: str,
    cause: str,
    at: datetime,
    meta: dict[str, str] | None = None,
) -> InteractionEvent | None:
    """Store and publish one automated message; None when ``cause`` already sent it."""
    reply_id = message_id(cause)
    event = InteractionEvent(
        event_id=event_id_for("routing", str(reply_id), EventType.MESSAGE_SENT),
        type=EventType.MESSAGE_SENT,
        channel=Channel(conversation.channel),
        provider=conversation.provider,
        direction=Direction.OUTBOUND,
        occurred_at=at,
        received_at=at,
        customer=Customer(id=conversation.customer_id, kind=conversation.customer_kind),
        conversation_key=conversation.conversation_key,
        content=Content(text=text),
        automated=True,
        raw_ref=str(reply_id),
        provider_meta=meta or {},
    )
    stored = await uow.messages.add_many(
        [
            Message(
                id=reply_id,
                conversation_id=conversation.id,
                conversation_key=conversation.conversation_key,
                event_id=event.event_id,
                direction=Direction.OUTBOUND,
                author=Author.AUTO_REPLY,
                at=at,
                text=text,
                status=DeliveryStatus.PENDING,
                status_at=at,
            )
        ]
    )
    if not stored:
        return None
    uow.steps.message(event)
    return event
