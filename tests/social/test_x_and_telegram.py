"""X direct messages and Telegram updates, written from their documentation, become these events."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from shared.events import (
    Attachment,
    Content,
    Customer,
    Direction,
    EventType,
    MessageStatus,
    event_id_for,
)
from tests.social.support import (
    assert_published_as,
    post_telegram,
    post_x,
    published,
    social_event,
)

WHEN = 1767225600  # 2026-01-01T00:00:00Z


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(WHEN + seconds, UTC)


def snowflake() -> str:
    return str(random.randrange(10**17, 10**18))


async def test_x_direct_messages_both_ways_with_media_read_receipts_and_likes(
    social_url: str, broker: str, fixture_secrets: dict[str, str]
) -> None:
    us, them = snowflake(), snowflake()
    inbound_id, outbound_id, tweet_id = snowflake(), snowflake(), snowflake()
    millis = WHEN * 1000
    users = {
        us: {"id": us, "name": "Acme Support", "screen_name": "acme_help"},
        them: {"id": them, "name": "Dana Fox", "screen_name": "danafox"},
    }
    payload = {
        "for_user_id": us,
        "direct_message_events": [
            {
                "type": "message_create",
                "id": inbound_id,
                "created_timestamp": str(millis),
                "message_create": {
                    "target": {"recipient_id": us},
                    "sender_id": them,
                    "message_data": {
                        "text": "Broken on arrival https://t.co/abc",
                        "entities": {
                            "hashtags": [],
                            "symbols": [],
                            "user_mentions": [],
                            "urls": [],
                        },
                        "attachment": {
                            "type": "media",
                            "media": {"id": 1, "id_str": "990000000000000001", "type": "photo"},
                        },
                    },
                },
            },
            {
                "type": "message_create",
                "id": outbound_id,
                "created_timestamp": str(millis + 60_000),
                "message_create": {
                    "target": {"recipient_id": them},
                    "sender_id": us,
                    "source_app_id": "268278",
                    "message_data": {"text": "Sorry! A replacement is on its way."},
                },
            },
        ],
        "direct_message_mark_read_events": [
            {
                "created_timestamp": str(millis + 90_000),
                "sender_id": them,
                "target": {"recipient_id": us},
                "last_read_event_id": outbound_id,
            }
        ],
        "direct_message_indicate_typing_events": [
            {"created_timestamp": str(millis), "sender_id": them, "target": {"recipient_id": us}}
        ],
        "favorite_events": [
            {
                "id": f"fav-{tweet_id}",
                "timestamp_ms": millis + 120_000,
                "favorited_status": {"id_str": tweet_id, "text": "Our new store is open"},
                "user": {"id_str": them, "name": "Dana Fox", "screen_name": "danafox"},
            }
        ],
        "users": users,
    }
    key = f"x:{min(us, them)}-{max(us, them)}"
    dana = Customer(id=them, display_name="Dana Fox", kind="x_user_id")
    expected = [
        social_event(
            "x",
            inbound_id,
            occurred_at=at(0),
            customer=dana,
            conversation_key=key,
            content=Content(
                text="Broken on arrival https://t.co/abc",
                language="en",
                content_type="image",
                attachments=(
                    Attachment(content_type="image/*", provider_media_id="990000000000000001"),
                ),
            ),
            raw_ref=inbound_id,
            provider_meta={
                "kind": "message_create",
                "for_user_id": us,
                "sender_id": them,
                "recipient_id": us,
                "customer_handle": "danafox",
            },
        ),
        social_event(
            "x",
            outbound_id,
            type=EventType.MESSAGE_SENT,
            direction=Direction.OUTBOUND,
            occurred_at=at(60),
            customer=dana,
            conversation_key=key,
            content=Content(text="Sorry! A replacement is on its way."),
            raw_ref=outbound_id,
            provider_meta={
                "kind": "message_create",
                "for_user_id": us,
                "sender_id": us,
                "recipient_id": them,
                "customer_handle": "danafox",
                "source_app_id": "268278",
            },
        ),
        social_event(
            "x",
            f"{outbound_id}#read#{them}",
            type=EventType.MESSAGE_STATUS,
            direction=Direction.OUTBOUND,
            occurred_at=at(90),
            customer=dana,
            conversation_key=key,
            content=Content(
                content_type="status", status=MessageStatus.READ, in_reply_to=outbound_id
            ),
            raw_ref=outbound_id,
            provider_meta={
                "kind": "direct_message_mark_read",
                "for_user_id": us,
                "customer_handle": "danafox",
            },
        ),
        # A kind this connector does not model is kept under its own name.
        social_event(
            "x",
            f"favorite_events:fav-{tweet_id}",
            occurred_at=at(120),
            customer=dana,
            conversation_key=f"x:{us}:favorite_events:{them}",
            content=Content(content_type="favorite"),
            raw_ref=f"fav-{tweet_id}",
            provider_meta={"kind": "favorite", "for_user_id": us, "customer_handle": "danafox"},
        ),
    ]
    since = datetime.now(UTC)

    answer = await post_x(social_url, fixture_secrets["x_consumer_secret"], payload)

    assert answer.status_code == 200, answer.text
    # Typing indicators carry no message: four events, not five.
    assert answer.json() == {"event_ids": [str(e.event_id) for e in expected]}
    found = await published(broker, [str(e.event_id) for e in expected])
    assert_published_as(found, expected, since=since)


def telegram_message(chat: int, message_id: int, offset: int, **body: Any) -> dict[str, Any]:
    sender = {
        "id": chat,
        "is_bot": False,
        "first_name": "Lena",
        "last_name": "Ng",
        "username": "lena_ng",
        "language_code": "de",
    }
    chat_info = {"id": chat, "first_name": "Lena", "username": "lena_ng", "type": "private"}
    return {
        "message_id": message_id,
        "from": sender,
        "chat": chat_info,
        "date": WHEN + offset,
    } | body


async def test_telegram_photo_location_reply_and_an_unknown_update(
    social_url: str, broker: str, fixture_secrets: dict[str, str]
) -> None:
    chat = random.randrange(10**9, 10**10)
    first_update = random.randrange(10**8, 10**9)
    photo_sizes = [
        {"file_id": "AgAD-small", "file_unique_id": "s1", "file_size": 1200, "width": 90},
        {"file_id": "AgAD-large", "file_unique_id": "l1", "file_size": 48211, "width": 1280},
    ]
    updates = [
        {
            "update_id": first_update,
            "message": telegram_message(chat, 10, 0, photo=photo_sizes, caption="dented box"),
        },
        {
            "update_id": first_update + 1,
            "message": telegram_message(
                chat, 11, 5, location={"latitude": 52.52, "longitude": 13.405}
            ),
        },
        {
            "update_id": first_update + 2,
            "message": telegram_message(
                chat, 12, 9, text="this one", reply_to_message=telegram_message(chat, 10, 0)
            ),
        },
        {
            "update_id": first_update + 3,
            "callback_query": {
                "id": "4382bfdwdsb323b2d9",
                "from": {"id": chat, "is_bot": False, "first_name": "Lena", "username": "lena_ng"},
                "message": telegram_message(chat, 13, 10, text="Pick one"),
                "chat_instance": "-1",
                "data": "refund",
            },
        },
    ]
    lena = Customer(id=str(chat), display_name="Lena Ng", kind="telegram_user_id")
    key = f"telegram:{chat}"
    person = {"chat_id": str(chat), "chat_type": "private", "username": "lena_ng"}

    def message_event(number: int, offset: int, content: Content, **meta: str) -> Any:
        return social_event(
            "telegram",
            f"{chat}:{number}",
            occurred_at=at(offset),
            customer=lena,
            conversation_key=key,
            content=content,
            raw_ref=f"{chat}:{number}",
            provider_meta={"kind": "message", **person, "user_language": "de", **meta},
        )

    photo = Attachment(content_type="image/jpeg", size=48211, provider_media_id="AgAD-large")
    # Telegram's language_code ("de") is the provider's word on each message's language.
    expected = [
        message_event(
            10,
            0,
            Content(text="dented box", content_type="image", attachments=(photo,), language="de"),
        ),
        message_event(
            11,
            5,
            Content(content_type="location", text="52.52,13.405", language="de"),
            latitude="52.52",
            longitude="13.405",
        ),
        message_event(12, 9, Content(text="this one", in_reply_to=f"{chat}:10", language="de")),
    ]
    since = datetime.now(UTC)

    token = fixture_secrets["telegram_secret_token"]
    answers = [await post_telegram(social_url, token, update) for update in updates]

    assert [a.status_code for a in answers] == [200] * 4
    event_ids = [answer.json()["event_ids"] for answer in answers]
    assert event_ids[:3] == [[str(e.event_id)] for e in expected]
    found = await published(broker, [ids[0] for ids in event_ids])
    callback = found.pop(event_ids[3][0])
    assert_published_as(found, expected, since=since)
    # A kind this connector does not model is kept under its own name. A callback query
    # carries no time of its own, so it happened when it arrived.
    assert callback.event_id == event_id_for(
        "telegram", f"update:{first_update + 3}", EventType.MESSAGE_RECEIVED
    )
    assert callback.type is EventType.MESSAGE_RECEIVED
    assert callback.occurred_at == callback.received_at
    assert callback.customer == Customer(id=str(chat), display_name="Lena", kind="telegram_user_id")
    assert callback.conversation_key == key
    assert callback.content == Content(content_type="callback_query", text="refund")
    assert callback.raw_ref == str(first_update + 3)
    assert callback.provider_meta == {
        "kind": "callback_query",
        "update_id": str(first_update + 3),
        "username": "lena_ng",
    }
