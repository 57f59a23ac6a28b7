"""Transcripts: every message of a conversation as routing consumes it, and where each
reply is on its way to the customer."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from services.routing.domain import Author, DeliveryStatus, Message, status_advances
from services.routing.inbound import received_at
from services.routing.settings import RoutingSettings
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.events import Attachment, Channel, Direction, EventType, InteractionEvent

#: How much of a new message the agent's stream shows.
PREVIEW_CHARS = 200


def author_of(event: InteractionEvent) -> Author:
    """Who wrote an inbound message: the customer, or a machine speaking for them.

    Mail servers' delivery reports are bounces and other automated mail auto-replies; on
    the other channels an automated sender is a bot.
    """
    if not event.automated:
        return Author.CUSTOMER
    if event.channel is Channel.EMAIL:
        reason = event.provider_meta.get("automated_reason", "")
        return Author.BOUNCE if reason.startswith("report:") else Author.AUTO_REPLY
    return Author.BOT


def is_inbound_message(event: InteractionEvent) -> bool:
    return event.type is EventType.MESSAGE_RECEIVED and event.direction is Direction.INBOUND


async def record_inbound(uow: UnitOfWork, *, events: Sequence[InteractionEvent]) -> None:
    """Store a batch's inbound messages (automated ones too) in their conversations, in two
    statements, and tell the agent holding a conversation of each new customer message.

    A key's messages go to its open conversation, else its latest one, as the batch left
    them; a key that never had a conversation (an auto-reply alone) keeps no transcript.
    """
    messages = [e for e in events if is_inbound_message(e)]
    if not messages:
        return
    holders = await uow.messages.conversations_of_keys(
        list(dict.fromkeys(e.conversation_key for e in messages))
    )
    now = utc_now()
    new = [
        _message(event, holders[event.conversation_key].conversation_id, at=received_at(event, now))
        for event in messages
        if event.conversation_key in holders
    ]
    for stored in await uow.messages.add_many(new):
        holder = holders[stored.conversation_key].agent_id
        if holder is not None and stored.author is Author.CUSTOMER:
            uow.steps.notify(
                holder,
                "message.created",
                conversation_id=str(stored.conversation_id),
                message_id=str(stored.id),
                seq=str(stored.seq),
                preview=(stored.text or "")[:PREVIEW_CHARS],
            )


def _message(event: InteractionEvent, conversation_id: uuid.UUID, *, at: datetime) -> Message:
    content = event.content
    return Message(
        id=event.event_id,
        conversation_id=conversation_id,
        conversation_key=event.conversation_key,
        event_id=event.event_id,
        direction=Direction.INBOUND,
        author=author_of(event),
        at=at,
        text=content.text if content else None,
        stripped_text=content.stripped_text if content else None,
        subject=content.subject if content else None,
        attachments=[a.model_dump(mode="json", exclude_none=True) for a in content.attachments]
        if content
        else [],
        raw_ref=event.raw_ref,
    )


async def record_voicemail(
    uow: UnitOfWork, event: InteractionEvent, conversation_id: uuid.UUID
) -> None:
    """A call that ended in voicemail: its recording joins the transcript, for the agent who
    calls the customer back (nothing when no message was recorded)."""
    recording = event.call.recording_ref if event.call else None
    if not recording:
        return
    seconds = event.provider_meta.get("recording_seconds")
    # Twilio serves a recording's URL as WAV; other sources do not say.
    kind = "audio/x-wav" if event.provider == "twilio_voice" else "application/octet-stream"
    voicemail = Attachment(name="voicemail", content_type=kind, provider_media_id=recording)
    await uow.messages.add_many(
        [
            Message(
                id=event.event_id,
                conversation_id=conversation_id,
                conversation_key=event.conversation_key,
                event_id=event.event_id,
                direction=Direction.INBOUND,
                author=Author.CUSTOMER,
                at=event.occurred_at,
                text=f"Voicemail ({seconds} s)" if seconds else "Voicemail",
                attachments=[voicemail.model_dump(mode="json", exclude_none=True)],
                raw_ref=event.raw_ref,
            )
        ]
    )


async def delivery_status(uow: UnitOfWork, event: InteractionEvent, _: RoutingSettings) -> None:
    """A connector's or provider's report on an agent's reply: the reply's status moves on
    (see :func:`~services.routing.domain.status_advances`) and its agent is told."""
    content = event.content
    if event.direction is not Direction.OUTBOUND or content is None or content.status is None:
        return
    found = await uow.messages.lock_outbound(
        event_id=event.status_of, conversation_key=event.conversation_key, raw_ref=event.raw_ref
    )
    if found is None:
        return
    if event.raw_ref and found.raw_ref is None:
        await uow.messages.learn_raw_ref(found.id, event.raw_ref)
    new = DeliveryStatus(content.status.value)
    if not status_advances(found.status or DeliveryStatus.PENDING, new):
        return
    reason = content.status_reason if new is DeliveryStatus.FAILED else None
    await uow.messages.set_status(found.id, status=new, reason=reason, at=event.occurred_at)
    if found.agent_id is not None:
        uow.steps.notify(
            found.agent_id,
            "message.status",
            conversation_id=str(found.conversation_id),
            message_id=str(found.id),
            status=new.value,
            **({"reason": reason} if reason else {}),
        )
