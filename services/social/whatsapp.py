"""WhatsApp Cloud API webhooks (``object=whatsapp_business_account``) to messages.

A change of field ``messages`` carries customer messages and the statuses of
ours; both are keyed by the pair (our phone number id, the customer's wa_id) so
a message and its statuses share one conversation. Other fields (template or
account updates) concern the account, not a customer: they are kept as
automated events under their field name.
"""

from __future__ import annotations

from datetime import datetime

from services.social.events import (
    STATUSES,
    Message,
    e164,
    fingerprint,
    from_seconds,
    location_meta,
    location_text,
    media,
    time_or,
)
from services.social.schemas.whatsapp import (
    WhatsAppChange,
    WhatsAppMessage,
    WhatsAppMetadata,
    WhatsAppStatus,
    WhatsAppWebhook,
)
from shared.events import Attachment, Content, Customer, Direction, EventType

PROVIDER = "whatsapp"

MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")


def messages_of(webhook: WhatsAppWebhook, *, received_at: datetime) -> list[Message]:
    """Every message, status and unknown change of the webhook, in order."""
    messages: list[Message] = []
    for entry in webhook.entry:
        for change in entry.changes:
            metadata = change.value.metadata
            if change.field != "messages" or metadata is None:
                messages.append(_account_change(entry.id, change, received_at))
                continue
            names = {
                c.wa_id: c.profile.name for c in change.value.contacts if c.profile is not None
            }
            for message in change.value.messages:
                messages.append(_inbound(entry.id, metadata, message, names.get(message.from_)))
            messages.extend(_status(entry.id, metadata, s) for s in change.value.statuses)
    return messages


def _customer(wa_id: str, name: str | None) -> tuple[Customer, tuple[str, ...]]:
    number, warnings = e164(wa_id)
    return Customer(id=number, display_name=name, kind="phone"), warnings


def _meta(
    account_id: str, metadata: WhatsAppMetadata, wa_id: str, **more: str | None
) -> dict[str, str]:
    meta = {
        "account_id": account_id,
        "phone_number_id": metadata.phone_number_id,
        "display_phone_number": metadata.display_phone_number,
        "wa_id": wa_id,
        **more,
    }
    return {k: v for k, v in meta.items() if v}


def _inbound(
    account_id: str, metadata: WhatsAppMetadata, message: WhatsAppMessage, name: str | None
) -> Message:
    customer, warnings = _customer(message.from_, name)
    content, meta = _content(message)
    return Message(
        provider=PROVIDER,
        dedup_key=message.id,
        type=EventType.MESSAGE_RECEIVED,
        direction=Direction.INBOUND,
        occurred_at=from_seconds(message.timestamp),
        customer=customer,
        conversation_key=f"{PROVIDER}:{metadata.phone_number_id}:{message.from_}",
        content=content,
        raw_ref=message.id,
        provider_meta=_meta(account_id, metadata, message.from_, kind=message.type, **meta),
        parse_warnings=warnings,
    )


def _status(account_id: str, metadata: WhatsAppMetadata, status: WhatsAppStatus) -> Message:
    customer, warnings = _customer(status.recipient_id, None)
    known = STATUSES.get(status.status)
    error = status.errors[0] if status.errors else None
    conversation = status.conversation or {}
    return Message(
        provider=PROVIDER,
        dedup_key=f"{status.id}#{status.status}",
        type=EventType.MESSAGE_STATUS,
        direction=Direction.OUTBOUND,
        occurred_at=from_seconds(status.timestamp),
        customer=customer,
        conversation_key=f"{PROVIDER}:{metadata.phone_number_id}:{status.recipient_id}",
        # A status Meta adds later (e.g. deleted) keeps its name in content_type.
        content=Content(
            content_type="status" if known else f"status:{status.status}",
            status=known,
            in_reply_to=status.id,
            # Why WhatsApp could not deliver our message, in its words.
            status_reason=error.title[:1024] if error and error.title else None,
        ),
        raw_ref=status.id,
        provider_meta=_meta(
            account_id,
            metadata,
            status.recipient_id,
            kind="status",
            status=status.status,
            pricing_conversation_id=str(conversation["id"]) if conversation.get("id") else None,
            error_code=str(error.code) if error and error.code is not None else None,
            error_title=error.title if error else None,
        ),
        parse_warnings=warnings,
    )


def _content(message: WhatsAppMessage) -> tuple[Content, dict[str, str | None]]:
    in_reply_to = message.context.id if message.context is not None else None
    kind = message.type
    text: str | None = None
    attachments: list[Attachment] = []
    meta: dict[str, str | None] = {}
    if message.text is not None:
        text = message.text.body
    elif kind in MEDIA_KINDS and (item := getattr(message, kind)) is not None:
        text = item.caption
        attachments.append(
            media(
                kind,
                item.id,
                mime_type=item.mime_type,
                name=item.filename,
                sha256=item.sha256,
            )
        )
    elif message.location is not None:
        place = message.location
        text = location_text(place.latitude, place.longitude, place.name, place.address)
        meta = dict(location_meta(place.latitude, place.longitude, location_name=place.name))
    elif message.contacts is not None:
        text = "; ".join(_contact_line(card) for card in message.contacts)
        meta = {"contacts": str(len(message.contacts))}
    elif message.reaction is not None:
        # An empty emoji is WhatsApp's way of saying the reaction was removed.
        in_reply_to = message.reaction.message_id
        text = message.reaction.emoji or None
        meta = {"action": "react" if message.reaction.emoji else "unreact"}
    else:
        text, meta = _other_text(message)
    content = Content(
        text=text,
        content_type=kind,
        attachments=tuple(attachments),
        in_reply_to=in_reply_to,
    )
    return content, meta


def _contact_line(card: dict[str, object]) -> str:
    name = card.get("name")
    formatted = name.get("formatted_name") if isinstance(name, dict) else None
    phones = card.get("phones")
    numbers = (
        [p.get("phone") for p in phones if isinstance(p, dict)] if isinstance(phones, list) else []
    )
    return " ".join(str(part) for part in [formatted, *numbers] if part)


def _other_text(message: WhatsAppMessage) -> tuple[str | None, dict[str, str | None]]:
    """Button replies, interactive replies and kinds we do not model: their visible text."""
    detail = (message.model_extra or {}).get(message.type)
    if not isinstance(detail, dict):
        return None, {}
    for reply_kind in ("button_reply", "list_reply"):
        reply = detail.get(reply_kind)
        if isinstance(reply, dict):
            return str(reply.get("title") or "") or None, {"reply_id": str(reply.get("id", ""))}
    if isinstance(detail.get("text"), str):
        return detail["text"], {"payload": str(detail.get("payload") or "") or None}
    return None, {}


def _account_change(account_id: str, change: WhatsAppChange, fallback: datetime) -> Message:
    value = change.value.model_dump(mode="json", by_alias=True)
    timestamp = value.get("timestamp")
    return Message(
        provider=PROVIDER,
        dedup_key=f"{change.field}:{fingerprint(value)}",
        type=EventType.MESSAGE_RECEIVED,
        direction=Direction.INBOUND,
        occurred_at=time_or(timestamp, fallback),
        customer=Customer(id=account_id, kind="whatsapp_business_account"),
        conversation_key=f"{PROVIDER}:account:{account_id}",
        content=Content(content_type=change.field, text=_event_name(value)),
        raw_ref=None,
        provider_meta={"account_id": account_id, "kind": change.field},
        automated=True,
    )


def _event_name(value: dict[str, object]) -> str | None:
    event = value.get("event")
    return str(event) if event else None
