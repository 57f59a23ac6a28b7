"""Messenger (``object=page``) and Instagram (``object=instagram``) webhooks to messages.

Both deliver ``entry[].messaging[]`` items between a scoped user id and our page
or account (``entry.id``); the conversation key is that pair, whichever way the
message went.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from services.social.events import (
    Message,
    fingerprint,
    from_millis,
    location_meta,
    location_text,
    media,
    time_or,
)
from services.social.schemas.messenger import (
    MessagingItem,
    MessagingWebhook,
    MetaAttachment,
    MetaChange,
    MetaMessage,
)
from shared.events import Attachment, Content, Customer, Direction, EventType, MessageStatus

#: Meta's attachment types, by the content type we publish them as.
MEDIA_KINDS = {"image": "image", "audio": "audio", "video": "video", "file": "document"}

_ITEM_ENVELOPE = {"sender", "recipient", "timestamp"}


def messages_of(webhook: MessagingWebhook, *, received_at: datetime) -> list[Message]:
    """Every message, reaction, status and unknown item of the webhook, in order."""
    provider = "messenger" if webhook.object == "page" else "instagram"
    messages: list[Message] = []
    for entry in webhook.entry:
        for item in entry.messaging:
            messages.extend(_item_messages(_Thread.of(provider, entry.id, item), item))
        entry_time = from_millis(entry.time) if entry.time else received_at
        messages.extend(
            _change_message(provider, entry.id, change, entry_time) for change in entry.changes
        )
    return messages


@dataclass(frozen=True)
class _Thread:
    """Who the customer is in one item, and the conversation it belongs to."""

    provider: str
    account_id: str
    user_id: str
    from_us: bool
    base_meta: dict[str, str]

    @classmethod
    def of(cls, provider: str, account_id: str, item: MessagingItem) -> _Thread:
        from_us = item.sender.id == account_id
        return cls(
            provider=provider,
            account_id=account_id,
            user_id=item.recipient.id if from_us else item.sender.id,
            from_us=from_us,
            base_meta={
                "account_id": account_id,
                "sender_id": item.sender.id,
                "recipient_id": item.recipient.id,
            },
        )

    def message(
        self,
        item: MessagingItem,
        *,
        dedup_key: str,
        event_type: EventType,
        content: Content,
        raw_ref: str | None,
        direction: Direction = Direction.INBOUND,
        meta: dict[str, str | None],
    ) -> Message:
        kind = "page_scoped_id" if self.provider == "messenger" else "instagram_scoped_id"
        return Message(
            provider=self.provider,
            dedup_key=dedup_key,
            type=event_type,
            direction=direction,
            occurred_at=from_millis(item.timestamp),
            customer=Customer(id=self.user_id, kind=kind),
            conversation_key=f"{self.provider}:{self.account_id}:{self.user_id}",
            content=content,
            raw_ref=raw_ref,
            provider_meta=self.base_meta | {k: v for k, v in meta.items() if v},
        )


def _item_messages(thread: _Thread, item: MessagingItem) -> Iterator[Message]:
    if item.message is not None:
        # Echoes are the messages our own page sent (from Meta's inbox or our app).
        echo = item.message.is_echo or thread.from_us
        content, meta = _message_content(item.message)
        yield thread.message(
            item,
            dedup_key=item.message.mid,
            event_type=EventType.MESSAGE_SENT if echo else EventType.MESSAGE_RECEIVED,
            content=content,
            raw_ref=item.message.mid,
            direction=Direction.OUTBOUND if echo else Direction.INBOUND,
            meta={"kind": "message", "app_id": item.message.app_id, **meta},
        )
    elif item.reaction is not None:
        reaction = item.reaction
        yield thread.message(
            item,
            # A reaction has no id of its own; who reacted to what, how and when is unique.
            dedup_key=f"reaction:{reaction.mid}:{item.sender.id}:{reaction.action}:{item.timestamp}",
            event_type=EventType.MESSAGE_RECEIVED,
            content=Content(
                content_type="reaction",
                text=reaction.emoji or reaction.reaction,
                in_reply_to=reaction.mid,
            ),
            raw_ref=None,
            meta={"kind": "reaction", "action": reaction.action, "reaction": reaction.reaction},
        )
    elif item.delivery is not None:
        watermark = str(item.delivery.watermark) if item.delivery.watermark else None
        mids: list[str | None] = list(item.delivery.mids) or [None]
        for mid in mids:
            yield _status(thread, item, MessageStatus.DELIVERED, mid, watermark)
    elif item.read is not None:
        watermark = str(item.read.watermark) if item.read.watermark else None
        yield _status(thread, item, MessageStatus.READ, item.read.mid, watermark)
    else:
        yield _unknown_item(thread, item)


def _status(
    thread: _Thread,
    item: MessagingItem,
    status: MessageStatus,
    mid: str | None,
    watermark: str | None,
) -> Message:
    """Delivery or read of our messages: by message id, or up to a watermark time."""
    subject = mid or f"watermark:{thread.user_id}:{watermark}"
    return thread.message(
        item,
        dedup_key=f"{subject}#{status.value}",
        event_type=EventType.MESSAGE_STATUS,
        content=Content(content_type="status", status=status, in_reply_to=mid),
        raw_ref=mid,
        direction=Direction.OUTBOUND,
        meta={
            "kind": "delivery" if status is MessageStatus.DELIVERED else "read",
            "watermark": watermark,
        },
    )


def _unknown_item(thread: _Thread, item: MessagingItem) -> Message:
    """A kind we do not model (postback, referral, optin...): kept under its own name."""
    extras = item.model_extra or {}
    kind = next((k for k in extras if k not in _ITEM_ENVELOPE), "unknown")
    detail = extras.get(kind)
    text = None
    if isinstance(detail, dict):
        text = next((str(detail[k]) for k in ("title", "text", "payload") if detail.get(k)), None)
    return thread.message(
        item,
        dedup_key=f"{kind}:{fingerprint(item.model_dump(mode='json', by_alias=True))}",
        event_type=EventType.MESSAGE_RECEIVED,
        content=Content(content_type=kind, text=text),
        raw_ref=None,
        meta={"kind": kind},
    )


def _change_message(
    provider: str, account_id: str, change: MetaChange, entry_time: datetime
) -> Message:
    """An ``entry.changes`` item (Instagram comments, mentions...): kept under its field name."""
    value = change.value
    author = value.get("from") if isinstance(value.get("from"), dict) else {}
    assert isinstance(author, dict)
    author_id = str(author.get("id") or account_id)
    item_id = str(value.get("id") or fingerprint(change.model_dump(mode="json")))
    media_item = value.get("media") if isinstance(value.get("media"), dict) else {}
    assert isinstance(media_item, dict)
    thread_id = str(media_item.get("id") or author_id)
    timestamp = value.get("timestamp") or value.get("time")
    return Message(
        provider=provider,
        dedup_key=f"{change.field}:{item_id}",
        type=EventType.MESSAGE_RECEIVED,
        direction=Direction.INBOUND,
        occurred_at=time_or(timestamp, entry_time),
        customer=Customer(
            id=author_id,
            display_name=str(author["username"]) if author.get("username") else None,
            kind="instagram_scoped_id" if provider == "instagram" else "page_scoped_id",
        ),
        conversation_key=f"{provider}:{account_id}:{change.field}:{thread_id}",
        content=Content(
            content_type=change.field,
            text=str(value["text"]) if isinstance(value.get("text"), str) else None,
        ),
        raw_ref=str(value["id"]) if value.get("id") else None,
        provider_meta={"account_id": account_id, "kind": change.field},
    )


def _message_content(message: MetaMessage) -> tuple[Content, dict[str, str]]:
    attachments: list[Attachment] = []
    meta: dict[str, str] = {}
    content_type = "text"
    text = message.text
    for index, attachment in enumerate(message.attachments):
        kind, described, item_meta, item_text = _attachment(attachment)
        if index == 0:
            content_type = kind
        if described is not None:
            attachments.append(described)
        meta.update(item_meta)
        text = text or item_text
    if message.quick_reply and message.quick_reply.get("payload"):
        meta["quick_reply_payload"] = str(message.quick_reply["payload"])
    in_reply_to = None
    if message.reply_to is not None:
        story = message.reply_to.story or {}
        in_reply_to = message.reply_to.mid or (str(story["id"]) if story.get("id") else None)
    content = Content(
        text=text,
        content_type=content_type,
        attachments=tuple(attachments),
        in_reply_to=in_reply_to,
    )
    return content, meta


def _attachment(
    attachment: MetaAttachment,
) -> tuple[str, Attachment | None, dict[str, str], str | None]:
    """(content type, attachment metadata, provider meta, text) of one Meta attachment."""
    payload = attachment.payload
    if attachment.type == "location" and payload is not None and payload.coordinates:
        lat = payload.coordinates.get("lat", 0.0)
        long = payload.coordinates.get("long", 0.0)
        return "location", None, location_meta(lat, long), location_text(lat, long, payload.title)
    if payload is not None and payload.sticker_id:
        return "sticker", media("sticker", payload.sticker_id), {}, None
    kind = MEDIA_KINDS.get(attachment.type, attachment.type)
    reference = None if payload is None else (payload.attachment_id or payload.url)
    if reference is None:
        return kind, None, {}, payload.title if payload is not None else None
    return kind, media(kind, reference, name=payload.title if payload else None), {}, None
