"""Messenger and Instagram webhooks, written from Meta's reference, become these events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from shared.events import (
    Attachment,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    MessageStatus,
)
from tests.social.support import assert_published_as, post_meta, published, social_event

WHEN = 1767225600000  # 2026-01-01T00:00:00Z, in milliseconds as Meta sends it


def at(offset_ms: int) -> datetime:
    return datetime.fromtimestamp((WHEN + offset_ms) / 1000, UTC)


def item(sender: str, recipient: str, offset: int, **kind: Any) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": WHEN + offset,
    } | kind


async def test_a_messenger_batch_keeps_every_kind_apart(
    social_url: str, broker: str, fixture_secrets: dict[str, str]
) -> None:
    page, user = "1" + uuid.uuid4().hex[:14], "2" + uuid.uuid4().hex[:14]
    mid = {name: f"m_{uuid.uuid4().hex}" for name in ("text", "media", "place", "sticker", "echo")}
    cdn = "https://cdn.example.com/a.jpg"
    messaging = [
        item(user, page, 0, message={"mid": mid["text"], "text": "Order 1234 is late",
                                     "reply_to": {"mid": mid["echo"]}}),
        item(user, page, 1, message={"mid": mid["media"], "attachments": [
            {"type": "image", "payload": {"url": cdn}},
            {"type": "audio", "payload": {"url": "https://cdn.example.com/a.mp4"}},
            {"type": "file", "payload": {"url": "https://cdn.example.com/a.pdf"}},
        ]}),
        item(user, page, 2, message={"mid": mid["place"], "attachments": [
            {"type": "location", "payload": {"title": "Shop",
                                             "coordinates": {"lat": 48.85, "long": 2.35}}},
        ]}),
        item(user, page, 3, message={"mid": mid["sticker"], "attachments": [
            {"type": "image", "payload": {"url": cdn, "sticker_id": 369239263222822}},
        ]}),
        item(page, user, 4, message={"mid": mid["echo"], "is_echo": True, "app_id": 1517776481,
                                     "text": "We are on it"}),
        item(user, page, 5, delivery={"mids": [mid["echo"]], "watermark": WHEN + 4}),
        item(user, page, 6, read={"watermark": WHEN + 4}),
        item(user, page, 7, reaction={"mid": mid["echo"], "action": "react",
                                      "reaction": "love", "emoji": "\u2764"}),
        item(user, page, 8, postback={"title": "Track my order", "payload": "TRACK"}),
    ]  # fmt: skip
    payload = {"object": "page", "entry": [{"id": page, "time": WHEN, "messaging": messaging}]}
    base = {"account_id": page, "sender_id": user, "recipient_id": page}
    customer = Customer(id=user, kind="page_scoped_id")
    key = f"messenger:{page}:{user}"

    def event(dedup: str, offset: int, content: Content, **fields: Any) -> InteractionEvent:
        meta = {**base, **fields.pop("meta", {})}
        return social_event(
            "messenger",
            dedup,
            occurred_at=at(offset),
            customer=customer,
            conversation_key=key,
            content=content,
            provider_meta=meta,
            **fields,
        )

    def media(url: str, mime: str) -> Attachment:
        return Attachment(content_type=mime, provider_media_id=url)

    expected = [
        event(mid["text"], 0,
              Content(text="Order 1234 is late", in_reply_to=mid["echo"], language="en"),
              raw_ref=mid["text"], meta={"kind": "message"}),
        event(mid["media"], 1, Content(content_type="image", attachments=(
            media(cdn, "image/*"),
            media("https://cdn.example.com/a.mp4", "audio/*"),
            media("https://cdn.example.com/a.pdf", "application/octet-stream"),
        )), raw_ref=mid["media"], meta={"kind": "message"}),
        event(mid["place"], 2, Content(content_type="location", text="Shop, 48.85,2.35"),
              raw_ref=mid["place"],
              meta={"kind": "message", "latitude": "48.85", "longitude": "2.35"}),
        event(mid["sticker"], 3, Content(content_type="sticker", attachments=(
            Attachment(content_type="image/*", provider_media_id="369239263222822"),)),
              raw_ref=mid["sticker"], meta={"kind": "message"}),
        event(mid["echo"], 4, Content(text="We are on it"), raw_ref=mid["echo"],
              type=EventType.MESSAGE_SENT, direction=Direction.OUTBOUND,
              meta={"kind": "message", "app_id": "1517776481",
                    "sender_id": page, "recipient_id": user}),
        event(f"{mid['echo']}#delivered", 5, Content(
            content_type="status", status=MessageStatus.DELIVERED, in_reply_to=mid["echo"]),
              raw_ref=mid["echo"], type=EventType.MESSAGE_STATUS, direction=Direction.OUTBOUND,
              meta={"kind": "delivery", "watermark": str(WHEN + 4)}),
        event(f"watermark:{user}:{WHEN + 4}#read", 6, Content(
            content_type="status", status=MessageStatus.READ),
              type=EventType.MESSAGE_STATUS, direction=Direction.OUTBOUND,
              meta={"kind": "read", "watermark": str(WHEN + 4)}),
        event(f"reaction:{mid['echo']}:{user}:react:{WHEN + 7}", 7, Content(
            content_type="reaction", text="\u2764", in_reply_to=mid["echo"]),
              meta={"kind": "reaction", "action": "react", "reaction": "love"}),
    ]  # fmt: skip
    since = datetime.now(UTC)

    answer = await post_meta(social_url, fixture_secrets["meta_app_secret"], payload)

    assert answer.status_code == 200, answer.text
    event_ids = answer.json()["event_ids"]
    assert event_ids[:-1] == [str(e.event_id) for e in expected]
    found = await published(broker, event_ids)
    # The postback is a kind this connector does not model: kept, named, not dropped.
    postback = found.pop(event_ids[-1])
    assert_published_as(found, expected, since=since)
    assert postback.type is EventType.MESSAGE_RECEIVED
    assert postback.occurred_at == at(8)
    assert postback.customer == customer
    assert postback.conversation_key == key
    assert postback.content == Content(content_type="postback", text="Track my order")
    assert postback.provider_meta == {**base, "kind": "postback"}
    assert postback.raw_ref is None


async def test_an_instagram_message_replying_to_a_story(
    social_url: str, broker: str, fixture_secrets: dict[str, str]
) -> None:
    account, user = "17841400000" + uuid.uuid4().hex[:6], "9" + uuid.uuid4().hex[:14]
    mid = f"aWdfZAG1{uuid.uuid4().hex}"
    story = {"url": "https://lookaside.example.com/story", "id": "17900000000000001"}
    payload = {
        "object": "instagram",
        "entry": [
            {
                "id": account,
                "time": WHEN,
                "messaging": [
                    item(user, account, 0, message={"mid": mid, "text": "Love it! Price?",
                                                   "reply_to": {"story": story}}),
                ],
            }
        ],
    }  # fmt: skip
    expected = social_event(
        "instagram",
        mid,
        occurred_at=at(0),
        customer=Customer(id=user, kind="instagram_scoped_id"),
        conversation_key=f"instagram:{account}:{user}",
        content=Content(text="Love it! Price?", in_reply_to="17900000000000001"),
        raw_ref=mid,
        provider_meta={
            "account_id": account,
            "sender_id": user,
            "recipient_id": account,
            "kind": "message",
        },
    )
    since = datetime.now(UTC)

    answer = await post_meta(social_url, fixture_secrets["meta_app_secret"], payload)

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"event_ids": [str(expected.event_id)]}
    assert_published_as(await published(broker, [str(expected.event_id)]), [expected], since=since)
