"""X Account Activity deliveries to messages.

``for_user_id`` is our account: a direct message it sent is an outbound
``message.sent``, any other is inbound. A one-to-one DM conversation is keyed
like X's own ``dm_conversation_id``: the two user ids, smaller first. Typing
indicators carry no message and are not published; every other ``*_events``
array we do not model (tweets, likes, follows...) is kept under its name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.social.events import Message, fingerprint, from_millis, media, time_or
from services.social.schemas.x import XActivity, XDirectMessage, XMarkRead, XUser
from shared.events import Attachment, Content, Customer, Direction, EventType, MessageStatus

PROVIDER = "x"

#: X's media types, by the content type we publish them as.
MEDIA_KINDS = {"photo": "image", "video": "video", "animated_gif": "video"}

#: Arrays of the delivery that are modelled, or carry nothing to publish.
_HANDLED = {
    "direct_message_events",
    "direct_message_mark_read_events",
    "direct_message_indicate_typing_events",
}


def messages_of(activity: XActivity, *, received_at: datetime) -> list[Message]:
    """Every direct message, read receipt and unknown event of the delivery, in order."""
    messages = [
        _direct_message(activity, event)
        for event in activity.direct_message_events
        if event.message_create is not None
    ]
    messages.extend(
        _unknown(activity, "direct_message_events", event.model_dump(mode="json"), received_at)
        for event in activity.direct_message_events
        if event.message_create is None
    )
    messages.extend(_mark_read(activity, read) for read in activity.direct_message_mark_read_events)
    for kind, items in (activity.model_extra or {}).items():
        if kind.endswith("_events") and kind not in _HANDLED and isinstance(items, list):
            messages.extend(
                _unknown(activity, kind, item, received_at)
                for item in items
                if isinstance(item, dict)
            )
    return messages


def conversation_key(first: str, second: str) -> str:
    low, high = sorted((first, second), key=lambda user_id: (len(user_id), user_id))
    return f"{PROVIDER}:{low}-{high}"


def _customer(activity: XActivity, user_id: str) -> tuple[Customer, str | None]:
    user = activity.users.get(user_id) or XUser(id=user_id)
    return Customer(id=user_id, display_name=user.name, kind="x_user_id"), user.screen_name


def _direct_message(activity: XActivity, event: XDirectMessage) -> Message:
    create = event.message_create
    assert create is not None
    recipient_id = create.target.recipient_id
    outbound = create.sender_id == activity.for_user_id
    customer, handle = _customer(activity, recipient_id if outbound else create.sender_id)
    content_type, attachments = _attachment(create.message_data.attachment)
    return Message(
        provider=PROVIDER,
        dedup_key=event.id,
        type=EventType.MESSAGE_SENT if outbound else EventType.MESSAGE_RECEIVED,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        occurred_at=from_millis(event.created_timestamp),
        customer=customer,
        conversation_key=conversation_key(create.sender_id, recipient_id),
        content=Content(
            text=create.message_data.text,
            content_type=content_type,
            attachments=attachments,
        ),
        raw_ref=event.id,
        provider_meta={
            "kind": event.type,
            "for_user_id": activity.for_user_id,
            "sender_id": create.sender_id,
            "recipient_id": recipient_id,
            "customer_handle": handle or "",
            "source_app_id": create.source_app_id or "",
        },
    )


def _attachment(attachment: dict[str, Any] | None) -> tuple[str, tuple[Attachment, ...]]:
    if not attachment:
        return "text", ()
    item = attachment.get("media")
    if not isinstance(item, dict):
        return str(attachment.get("type") or "attachment"), ()
    kind = MEDIA_KINDS.get(str(item.get("type")), str(item.get("type") or "media"))
    media_id = item.get("id_str") or item.get("id")
    return kind, (media(kind, str(media_id) if media_id else None),)


def _mark_read(activity: XActivity, read: XMarkRead) -> Message:
    """The customer read our messages up to ``last_read_event_id``."""
    customer, handle = _customer(activity, read.sender_id)
    return Message(
        provider=PROVIDER,
        dedup_key=f"{read.last_read_event_id}#read#{read.sender_id}",
        type=EventType.MESSAGE_STATUS,
        direction=Direction.OUTBOUND,
        occurred_at=from_millis(read.created_timestamp),
        customer=customer,
        conversation_key=conversation_key(read.sender_id, read.target.recipient_id),
        content=Content(
            content_type="status", status=MessageStatus.READ, in_reply_to=read.last_read_event_id
        ),
        raw_ref=read.last_read_event_id,
        provider_meta={
            "kind": "direct_message_mark_read",
            "for_user_id": activity.for_user_id,
            "customer_handle": handle or "",
        },
    )


def _unknown(
    activity: XActivity, kind: str, item: dict[str, Any], received_at: datetime
) -> Message:
    user = item.get("user") if isinstance(item.get("user"), dict) else item.get("source")
    user_id = str(
        (user or {}).get("id_str") or (user or {}).get("id") or item.get("sender_id") or ""
    )
    user_id = user_id or activity.for_user_id
    customer, handle = _customer(activity, user_id)
    if isinstance(user, dict) and not handle:
        handle = user.get("screen_name")
        customer = Customer(id=user_id, display_name=user.get("name"), kind="x_user_id")
    item_id = str(item.get("id_str") or item.get("id") or fingerprint(item))
    millis = item.get("timestamp_ms") or item.get("created_timestamp")
    return Message(
        provider=PROVIDER,
        dedup_key=f"{kind}:{item_id}",
        type=EventType.MESSAGE_RECEIVED,
        direction=Direction.INBOUND,
        occurred_at=time_or(millis, received_at, millis=True),
        customer=customer,
        conversation_key=f"{PROVIDER}:{activity.for_user_id}:{kind}:{user_id}",
        content=Content(
            content_type=kind.removesuffix("_events"),
            text=item.get("text") if isinstance(item.get("text"), str) else None,
        ),
        raw_ref=item_id,
        provider_meta={
            "kind": kind.removesuffix("_events"),
            "for_user_id": activity.for_user_id,
            "customer_handle": str(handle or ""),
        },
    )
