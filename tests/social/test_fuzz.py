"""Property tests of the social parsers: real payloads broken at random, and random bytes, give
events that survive their own JSON or a 4xx; never another exception (a 500)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.social import messenger, telegram, whatsapp, x
from services.social.events import to_event
from services.social.schemas import (
    LATEST_EPOCH_S,
    MessagingWebhook,
    TelegramUpdate,
    XActivity,
    parse,
    parse_meta,
)
from shared.clock import utc_now
from shared.errors import BadRequest
from shared.events import InteractionEvent
from tests.support.fixtures import FIXTURES
from tests.support.mutations import assert_events_or_4xx, json_values, mutated

KINDS = ["messenger_text", "whatsapp_text", "x_direct_message", "telegram_message"]
PAYLOADS: dict[str, dict[str, Any]] = {
    kind: json.loads((FIXTURES / "social" / f"{kind}.json").read_text())
    for kind in KINDS
    if (FIXTURES / "social" / f"{kind}.json").is_file()
}


def events_of(kind: str, body: bytes) -> list[InteractionEvent]:
    """What the connector's endpoint for ``kind`` publishes for ``body``."""
    received_at = utc_now()
    if kind.startswith("x_"):
        messages = x.messages_of(parse(XActivity, body), received_at=received_at)
    elif kind.startswith("telegram"):
        messages = telegram.messages_of(parse(TelegramUpdate, body), received_at=received_at)
    else:
        webhook = parse_meta(body)
        if isinstance(webhook, MessagingWebhook):
            messages = messenger.messages_of(webhook, received_at=received_at)
        else:
            messages = whatsapp.messages_of(webhook, received_at=received_at)
    return [to_event(message, received_at=received_at) for message in messages]


def test_the_fixtures_are_there() -> None:
    assert sorted(PAYLOADS) == sorted(KINDS), f"provider fixtures missing under {FIXTURES}"
    for kind, payload in PAYLOADS.items():
        assert assert_events_or_4xx(events_of, kind, json.dumps(payload).encode()), kind


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_broken_payload_gives_events_or_a_4xx(kind: str, data: st.DataObject) -> None:
    payload = data.draw(mutated(PAYLOADS[kind]))
    assert_events_or_4xx(events_of, kind, json.dumps(payload).encode())


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=50, deadline=None)
@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_body_gives_events_or_a_4xx(kind: str, body: bytes) -> None:
    assert_events_or_4xx(events_of, kind, body)


#: Where each fixture keeps its message's time stamp, and whether it counts milliseconds.
TIME_STAMPS: dict[str, tuple[tuple[str | int, ...], bool]] = {
    "messenger_text": (("entry", 0, "messaging", 0, "timestamp"), True),
    "whatsapp_text": (("entry", 0, "changes", 0, "value", "messages", 0, "timestamp"), False),
    "x_direct_message": (("direct_message_events", 0, "created_timestamp"), True),
    "telegram_message": (("message", "date"), False),
}


def with_time_stamp(kind: str, seconds: int) -> bytes:
    path, millis = TIME_STAMPS[kind]
    payload = copy.deepcopy(PAYLOADS[kind])
    parent: Any = payload
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = seconds * 1000 if millis else seconds
    return json.dumps(payload).encode()


@pytest.mark.parametrize("kind", KINDS)
def test_a_time_stamp_after_year_9999_gets_a_400_naming_it(kind: str) -> None:
    """Found by the fuzzer: a Telegram date of 253402300800 (year 10000) used to raise in the
    parser. The last second a datetime holds still parses."""
    [last] = events_of(kind, with_time_stamp(kind, LATEST_EPOCH_S))
    assert last.occurred_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    with pytest.raises(BadRequest) as refused:
        events_of(kind, with_time_stamp(kind, LATEST_EPOCH_S + 1))
    assert refused.value.status_code == 400
    assert str(TIME_STAMPS[kind][0][-1]) in json.dumps(refused.value.detail)


def test_an_unknown_telegram_update_with_a_far_future_date_gets_the_receive_time() -> None:
    update = {"update_id": 9, "poll_answer": {"user": {"id": 5}, "date": LATEST_EPOCH_S + 1}}
    received_before = utc_now()
    [event] = events_of("telegram_callback", json.dumps(update).encode())
    assert event.occurred_at >= received_before
