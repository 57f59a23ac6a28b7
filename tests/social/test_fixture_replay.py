"""The shared real-format payloads, replayed with their real signatures, become these events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.events import Content, Customer
from tests.social.support import (
    assert_published_as,
    event_ids_on,
    published,
    social_event,
)

FIXTURE_EVENTS = {
    "social/messenger_text.json": (
        "/webhooks/meta",
        social_event(
            "messenger",
            "m_1457764197618:41d102a3e1ae206a38",
            occurred_at=datetime(2016, 3, 23, 0, 25, 52, 478000, UTC),
            customer=Customer(id="6543210987654321", kind="page_scoped_id"),
            conversation_key="messenger:106540352242922:6543210987654321",
            content=Content(text="hello, world!"),
            raw_ref="m_1457764197618:41d102a3e1ae206a38",
            provider_meta={
                "account_id": "106540352242922",
                "sender_id": "6543210987654321",
                "recipient_id": "106540352242922",
                "kind": "message",
            },
        ),
    ),
    "social/whatsapp_text.json": (
        "/webhooks/meta",
        social_event(
            "whatsapp",
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            occurred_at=datetime(2025, 6, 8, 20, 59, 43, tzinfo=UTC),
            customer=Customer(id="+16505551234", display_name="Sheena Nelson", kind="phone"),
            conversation_key="whatsapp:106540352242922:16505551234",
            content=Content(text="Does it come in another color?", language="en"),
            raw_ref="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            provider_meta={
                "account_id": "102290129340398",
                "phone_number_id": "106540352242922",
                "display_phone_number": "15550783881",
                "wa_id": "16505551234",
                "kind": "text",
            },
        ),
    ),
    "social/x_direct_message.json": (
        "/webhooks/x",
        social_event(
            "x",
            "954491830116155396",
            occurred_at=datetime(2018, 1, 19, 23, 12, 40, 557000, UTC),
            customer=Customer(id="3001969357", display_name="Jordan Brinks", kind="x_user_id"),
            conversation_key="x:3001969357-4337869213",
            # Two words are too few to tell a language by.
            content=Content(text="Hello World!"),
            raw_ref="954491830116155396",
            provider_meta={
                "kind": "message_create",
                "for_user_id": "4337869213",
                "sender_id": "3001969357",
                "recipient_id": "4337869213",
                "customer_handle": "furiouscamper",
                "source_app_id": "13090192",
            },
        ),
    ),
    "social/telegram_message.json": (
        "/webhooks/telegram",
        social_event(
            "telegram",
            "123456789:42",
            occurred_at=datetime(2025, 3, 3, 11, 6, 40, tzinfo=UTC),
            customer=Customer(id="123456789", display_name="Alice", kind="telegram_user_id"),
            conversation_key="telegram:123456789",
            # Telegram's language_code is the provider's word on the language.
            content=Content(text="Hi, my order hasn't arrived", language="en"),
            raw_ref="123456789:42",
            provider_meta={
                "kind": "message",
                "chat_id": "123456789",
                "chat_type": "private",
                "username": "alice",
                "user_language": "en",
            },
        ),
    ),
}


def test_every_social_fixture_is_covered(fixture_manifest: dict[str, dict[str, Any]]) -> None:
    assert {name for name in fixture_manifest if name.startswith("social/")} == set(FIXTURE_EVENTS)


@pytest.mark.parametrize("fixture", sorted(FIXTURE_EVENTS))
async def test_fixture_replays_into_its_event_and_a_retry_adds_no_new_id(
    fixture: str,
    social_url: str,
    broker: str,
    provider_fixtures: Path,
    fixture_manifest: dict[str, dict[str, Any]],
) -> None:
    path, expected = FIXTURE_EVENTS[fixture]
    body = (provider_fixtures / fixture).read_bytes()
    headers = {"Content-Type": "application/json", **fixture_manifest[fixture]["headers"]}
    since = datetime.now(UTC)

    async with httpx.AsyncClient(base_url=social_url) as client:
        first = await client.post(path, content=body, headers=headers)
        retry = await client.post(path, content=body, headers=headers)

    assert first.status_code == 200, first.text
    assert first.json() == {"event_ids": [str(expected.event_id)]}
    assert retry.json() == first.json()
    assert_published_as(await published(broker, [str(expected.event_id)]), [expected], since=since)
    ids = await event_ids_on(broker, {expected.conversation_key}, settle=1.0)
    assert set(ids) == {str(expected.event_id)}
