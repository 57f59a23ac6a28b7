"""Telegram Bot API updates to messages.

Telegram posts one update per request. A message id is unique only within its
chat, so the provider's message id is ``<chat id>:<message id>`` and the
conversation key is the chat id. Update kinds we do not model (callback
queries, member changes...) are kept under their name.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.social.events import (
    Message,
    from_seconds,
    location_meta,
    location_text,
    media,
    time_or,
)
from services.social.schemas.telegram import (
    TelegramChat,
    TelegramMessage,
    TelegramReaction,
    TelegramUpdate,
    TelegramUser,
)
from shared.events import Attachment, Content, Customer, Direction, EventType

PROVIDER = "telegram"

#: Media fields of a message, by the content type we publish them as.
MEDIA_FIELDS = {
    "audio": "audio",
    "voice": "audio",
    "video": "video",
    "video_note": "video",
    "document": "document",
    "sticker": "sticker",
}

_MIME = {"voice": "audio/ogg", "video_note": "video/mp4", "sticker": "image/webp"}

#: Message fields that describe how a message travelled, not what it holds.
_ENVELOPE_FIELDS = {
    "message_thread_id",
    "sender_chat",
    "forward_origin",
    "forward_from",
    "forward_from_chat",
    "forward_date",
    "is_topic_message",
    "is_automatic_forward",
    "via_bot",
    "author_signature",
    "has_protected_content",
    "media_group_id",
    "entities",
    "caption_entities",
    "reply_markup",
    "link_preview_options",
    "quote",
    "external_reply",
    "business_connection_id",
    "effect_id",
    "has_media_spoiler",
    "show_caption_above_media",
    "sender_boost_count",
    "is_from_offline",
}


def messages_of(update: TelegramUpdate, *, received_at: datetime) -> list[Message]:
    """The message, edit, reaction or unknown update kind this update carries."""
    if update.message is not None:
        return [_message(update.message, edited=False)]
    if update.edited_message is not None:
        return [_message(update.edited_message, edited=True)]
    if update.message_reaction is not None:
        return [_reaction(update.message_reaction)]
    return [_unknown(update, received_at)]


def _customer(user: TelegramUser | None, chat: TelegramChat) -> tuple[Customer, dict[str, str]]:
    if user is None:
        # Channel posts have no sender: the chat speaks.
        return Customer(id=str(chat.id), kind="telegram_chat_id"), {}
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or None
    meta = {"username": user.username or "", "user_language": user.language_code or ""}
    return Customer(id=str(user.id), display_name=name, kind="telegram_user_id"), meta


def _message(message: TelegramMessage, *, edited: bool) -> Message:
    customer, meta = _customer(message.from_, message.chat)
    message_ref = f"{message.chat.id}:{message.message_id}"
    content_type, text, attachments, media_meta = _content(message)
    replied = message.reply_to_message
    return Message(
        provider=PROVIDER,
        # An edit is a new event about the same message: its edit time tells them apart.
        dedup_key=f"{message_ref}#edit:{message.edit_date}" if edited else message_ref,
        type=EventType.MESSAGE_RECEIVED,
        direction=Direction.INBOUND,
        occurred_at=from_seconds(
            message.edit_date if edited and message.edit_date else message.date
        ),
        customer=customer,
        conversation_key=f"{PROVIDER}:{message.chat.id}",
        content=Content(
            text=text,
            content_type=content_type,
            attachments=attachments,
            in_reply_to=f"{message.chat.id}:{replied.message_id}" if replied else None,
        ),
        raw_ref=message_ref,
        provider_meta={
            "kind": "edited_message" if edited else "message",
            "chat_id": str(message.chat.id),
            "chat_type": message.chat.type or "",
            **meta,
            **media_meta,
        },
        automated=message.from_ is not None and message.from_.is_bot,
        language_hint=message.from_.language_code if message.from_ else None,
    )


def _content(
    message: TelegramMessage,
) -> tuple[str, str | None, tuple[Attachment, ...], dict[str, str]]:
    """(content type, text, attachments, provider meta) of one message."""
    text = message.text or message.caption
    if message.photo:
        # Telegram sends every size of a photo; the last is the largest.
        largest = message.photo[-1]
        photo = media("image", largest.file_id, mime_type="image/jpeg", size=largest.file_size)
        return "image", text, (photo,), {}
    for field_name, kind in MEDIA_FIELDS.items():
        item = getattr(message, field_name)
        if item is not None:
            attachment = media(
                kind,
                item.file_id,
                mime_type=item.mime_type or _MIME.get(field_name),
                name=item.file_name,
                size=item.file_size,
            )
            return kind, text, (attachment,), {"media_field": field_name}
    if message.location is not None:
        place = message.location
        meta = location_meta(place.latitude, place.longitude)
        return "location", location_text(place.latitude, place.longitude), (), meta
    if message.contact is not None:
        card = message.contact
        name = " ".join(p for p in (card.first_name, card.last_name) if p)
        return "contacts", f"{name} {card.phone_number}".strip(), (), {"contacts": "1"}
    if text is None:
        # A message kind we do not model (poll, dice, game...): name it by its field.
        extras = message.model_extra or {}
        kind = next((k for k in extras if k not in _ENVELOPE_FIELDS), "unknown")
        return kind, None, (), {"message_kind": kind}
    return "text", text, (), {}


def _reaction(reaction: TelegramReaction) -> Message:
    customer, meta = _customer(reaction.user, reaction.chat)
    emoji = [r.get("emoji") for r in reaction.new_reaction if r.get("type") == "emoji"]
    message_ref = f"{reaction.chat.id}:{reaction.message_id}"
    return Message(
        provider=PROVIDER,
        dedup_key=f"reaction:{message_ref}:{customer.id}:{reaction.date}",
        type=EventType.MESSAGE_RECEIVED,
        direction=Direction.INBOUND,
        occurred_at=from_seconds(reaction.date),
        customer=customer,
        conversation_key=f"{PROVIDER}:{reaction.chat.id}",
        content=Content(
            content_type="reaction",
            text="".join(str(e) for e in emoji if e) or None,
            in_reply_to=message_ref,
        ),
        raw_ref=None,
        provider_meta={
            "kind": "message_reaction",
            "chat_id": str(reaction.chat.id),
            "action": "react" if reaction.new_reaction else "unreact",
            **meta,
        },
    )


def _unknown(update: TelegramUpdate, received_at: datetime) -> Message:
    kind, body = next(iter((update.model_extra or {}).items()), ("unknown", {}))
    detail: dict[str, Any] = body if isinstance(body, dict) else {}
    sender = detail.get("from") if isinstance(detail.get("from"), dict) else {}
    assert isinstance(sender, dict)
    chat = detail.get("chat") or (detail.get("message") or {}).get("chat") or {}
    sender_id = str(sender.get("id") or chat.get("id") or update.update_id)
    name = " ".join(str(sender[p]) for p in ("first_name", "last_name") if sender.get(p))
    date = detail.get("date")
    text = next((str(detail[k]) for k in ("data", "text", "query") if detail.get(k)), None)
    return Message(
        provider=PROVIDER,
        # Telegram redelivers an update with the same update_id until we answer 200.
        dedup_key=f"update:{update.update_id}",
        type=EventType.MESSAGE_RECEIVED,
        direction=Direction.INBOUND,
        occurred_at=time_or(date, received_at),
        customer=Customer(id=sender_id, display_name=name or None, kind="telegram_user_id"),
        conversation_key=f"{PROVIDER}:{chat.get('id') or sender_id}",
        content=Content(content_type=kind, text=text),
        raw_ref=str(update.update_id),
        provider_meta={
            "kind": kind,
            "update_id": str(update.update_id),
            "username": str(sender.get("username") or ""),
        },
    )
