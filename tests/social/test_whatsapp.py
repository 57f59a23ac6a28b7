"""WhatsApp Cloud API batches, written from Meta's webhook reference, become these events."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from shared.events import (
    Attachment,
    Content,
    Customer,
    Direction,
    EventType,
    MessageStatus,
)
from tests.social.support import (
    assert_published_as,
    event_ids_on,
    post_meta,
    published,
    social_event,
)

ANA, BO = "447700900123", "5511987654321"
WHEN = 1767225600  # 2026-01-01T00:00:00Z
IMAGE_BYTES = b"not really a jpeg"


def at(offset: int) -> datetime:
    return datetime.fromtimestamp(WHEN + offset, UTC)


def batch(waba: str, phone_number_id: str, ids: dict[str, str]) -> dict[str, Any]:
    """Two changes: several customers' messages of every kind, then statuses of ours."""

    def message(name: str, sender: str, offset: int, kind: str, **body: Any) -> dict[str, Any]:
        envelope = {"from": sender, "id": ids[name], "timestamp": str(WHEN + offset), "type": kind}
        return envelope | body

    metadata = {"display_phone_number": "15550001111", "phone_number_id": phone_number_id}
    image_hash = base64.b64encode(hashlib.sha256(IMAGE_BYTES).digest()).decode()
    messages = [
        message("text", ANA, 0, "text", text={"body": "Where is my parcel?"}),
        message(
            "image",
            ANA,
            1,
            "image",
            image={
                "caption": "the label",
                "mime_type": "image/jpeg",
                "sha256": image_hash,
                "id": "media-image-1",
            },
        ),
        message(
            "audio",
            BO,
            2,
            "audio",
            audio={"mime_type": "audio/ogg; codecs=opus", "id": "media-audio-1", "voice": True},
        ),
        message("video", BO, 3, "video", video={"mime_type": "video/mp4", "id": "media-video-1"}),
        message(
            "document",
            ANA,
            4,
            "document",
            document={
                "caption": "invoice",
                "filename": "invoice.pdf",
                "mime_type": "application/pdf",
                "id": "media-document-1",
            },
        ),
        message(
            "sticker",
            BO,
            5,
            "sticker",
            sticker={"mime_type": "image/webp", "id": "media-sticker-1", "animated": False},
        ),
        message(
            "location",
            ANA,
            6,
            "location",
            location={
                "latitude": 51.5072,
                "longitude": -0.1276,
                "name": "Home",
                "address": "1 Main St",
            },
        ),
        message(
            "contacts",
            BO,
            7,
            "contacts",
            contacts=[
                {
                    "name": {"formatted_name": "Carla Diaz", "first_name": "Carla"},
                    "phones": [{"phone": "+1 415 555 0100", "type": "CELL"}],
                }
            ],
        ),
        message(
            "reaction", ANA, 8, "reaction", reaction={"message_id": ids["ours"], "emoji": "👍"}
        ),
        message(
            "reply",
            BO,
            9,
            "text",
            text={"body": "Yes, that one"},
            context={"from": "15550001111", "id": ids["ours"]},
        ),
        message(
            "unsupported",
            ANA,
            10,
            "unsupported",
            errors=[{"code": 131051, "title": "Message type unknown"}],
        ),
    ]
    statuses: list[dict[str, Any]] = [
        {
            "id": ids["ours"],
            "status": status,
            "timestamp": str(WHEN + 20 + n),
            "recipient_id": ANA,
            "conversation": {"id": "pricing-conv-1", "origin": {"type": "service"}},
        }
        for n, status in enumerate(["sent", "delivered", "read"])
    ]
    statuses.append(
        {
            "id": ids["failed"],
            "status": "failed",
            "timestamp": str(WHEN + 30),
            "recipient_id": BO,
            "errors": [{"code": 131047, "title": "Re-engagement message"}],
        }
    )
    contacts = [
        {"profile": {"name": "Ana"}, "wa_id": ANA},
        {"profile": {"name": "Bo"}, "wa_id": BO},
    ]
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": waba,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": metadata,
                            "contacts": contacts,
                            "messages": messages,
                        },
                    },
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": metadata,
                            "statuses": statuses,
                        },
                    },
                ],
            }
        ],
    }


def expected_events(waba: str, phone_number_id: str, ids: dict[str, str]) -> list[Any]:
    people = {ANA: ("+447700900123", "Ana"), BO: ("+5511987654321", "Bo")}

    def inbound(name: str, sender: str, offset: int, content: Content, **meta: str) -> Any:
        number, display = people[sender]
        return social_event(
            "whatsapp",
            ids[name],
            occurred_at=at(offset),
            customer=Customer(id=number, display_name=display, kind="phone"),
            conversation_key=f"whatsapp:{phone_number_id}:{sender}",
            content=content,
            raw_ref=ids[name],
            provider_meta={
                "account_id": waba,
                "phone_number_id": phone_number_id,
                "display_phone_number": "15550001111",
                "wa_id": sender,
                "kind": content.content_type,
                **meta,
            },
        )

    def status(message: str, recipient: str, offset: int, state: MessageStatus, **meta: str) -> Any:
        return social_event(
            "whatsapp",
            f"{ids[message]}#{state.value}",
            type=EventType.MESSAGE_STATUS,
            direction=Direction.OUTBOUND,
            occurred_at=at(offset),
            customer=Customer(id=people[recipient][0], kind="phone"),
            conversation_key=f"whatsapp:{phone_number_id}:{recipient}",
            content=Content(
                content_type="status",
                status=state,
                in_reply_to=ids[message],
                status_reason=meta.get("error_title"),
            ),
            raw_ref=ids[message],
            provider_meta={
                "account_id": waba,
                "phone_number_id": phone_number_id,
                "display_phone_number": "15550001111",
                "wa_id": recipient,
                "kind": "status",
                "status": state.value,
                **meta,
            },
        )

    def attachment(media_id: str, mime: str, **more: Any) -> tuple[Attachment, ...]:
        return (Attachment(content_type=mime, provider_media_id=media_id, **more),)

    return [
        inbound("text", ANA, 0, Content(text="Where is my parcel?", language="en")),
        inbound(
            "image",
            ANA,
            1,
            Content(
                text="the label",
                language="en",
                content_type="image",
                attachments=attachment(
                    "media-image-1", "image/jpeg", sha256=hashlib.sha256(IMAGE_BYTES).hexdigest()
                ),
            ),
        ),
        inbound(
            "audio",
            BO,
            2,
            Content(
                content_type="audio",
                attachments=attachment("media-audio-1", "audio/ogg; codecs=opus"),
            ),
        ),
        inbound(
            "video",
            BO,
            3,
            Content(content_type="video", attachments=attachment("media-video-1", "video/mp4")),
        ),
        inbound(
            "document",
            ANA,
            4,
            Content(
                text="invoice",
                content_type="document",
                attachments=attachment("media-document-1", "application/pdf", name="invoice.pdf"),
            ),
        ),
        inbound(
            "sticker",
            BO,
            5,
            Content(
                content_type="sticker", attachments=attachment("media-sticker-1", "image/webp")
            ),
        ),
        inbound(
            "location",
            ANA,
            6,
            Content(content_type="location", text="Home, 1 Main St, 51.5072,-0.1276"),
            latitude="51.5072",
            longitude="-0.1276",
            location_name="Home",
        ),
        inbound(
            "contacts",
            BO,
            7,
            Content(content_type="contacts", text="Carla Diaz +1 415 555 0100"),
            contacts="1",
        ),
        inbound(
            "reaction",
            ANA,
            8,
            Content(content_type="reaction", text="👍", in_reply_to=ids["ours"]),
            action="react",
        ),
        inbound(
            "reply", BO, 9, Content(text="Yes, that one", in_reply_to=ids["ours"], language="en")
        ),
        inbound("unsupported", ANA, 10, Content(content_type="unsupported")),
        status("ours", ANA, 20, MessageStatus.SENT, pricing_conversation_id="pricing-conv-1"),
        status("ours", ANA, 21, MessageStatus.DELIVERED, pricing_conversation_id="pricing-conv-1"),
        status("ours", ANA, 22, MessageStatus.READ, pricing_conversation_id="pricing-conv-1"),
        status(
            "failed",
            BO,
            30,
            MessageStatus.FAILED,
            error_code="131047",
            error_title="Re-engagement message",
        ),
    ]


async def test_a_whatsapp_batch_becomes_one_event_per_message_and_status(
    social_url: str, broker: str, fixture_secrets: dict[str, str]
) -> None:
    waba, phone_number_id = "9" + uuid.uuid4().hex[:14], "8" + uuid.uuid4().hex[:14]
    names = [
        "text", "image", "audio", "video", "document", "sticker", "location", "contacts",
        "reaction", "reply", "unsupported", "ours", "failed",
    ]  # fmt: skip
    ids = {name: f"wamid.{uuid.uuid4().hex}" for name in names}
    expected = expected_events(waba, phone_number_id, ids)
    secret = fixture_secrets["meta_app_secret"]
    since = datetime.now(UTC)

    answer = await post_meta(social_url, secret, batch(waba, phone_number_id, ids))
    replay = await post_meta(social_url, secret, batch(waba, phone_number_id, ids))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"event_ids": [str(e.event_id) for e in expected]}
    assert replay.json() == answer.json()
    found = await published(broker, [str(e.event_id) for e in expected])
    assert_published_as(found, expected, since=since)
    keys = {e.conversation_key for e in expected}
    assert set(await event_ids_on(broker, keys, settle=1.0)) == set(found)


async def test_account_level_changes_are_kept_as_automated_events(
    social_url: str, broker: str, fixture_secrets: dict[str, str]
) -> None:
    waba = "7" + uuid.uuid4().hex[:14]
    value = {"event": "VERIFIED_ACCOUNT", "timestamp": WHEN}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "changes": [{"field": "account_update", "value": value}]}],
    }
    answer = await post_meta(social_url, fixture_secrets["meta_app_secret"], payload)
    assert answer.status_code == 200, answer.text
    [event_id] = answer.json()["event_ids"]
    [event] = (await published(broker, [event_id])).values()
    assert event.type is EventType.MESSAGE_RECEIVED
    assert event.provider == "whatsapp"
    assert event.automated is True
    assert event.occurred_at == at(0)
    assert event.customer == Customer(id=waba, kind="whatsapp_business_account")
    assert event.conversation_key == f"whatsapp:account:{waba}"
    assert event.content == Content(content_type="account_update", text="VERIFIED_ACCOUNT")
    assert event.provider_meta == {"account_id": waba, "kind": "account_update"}
