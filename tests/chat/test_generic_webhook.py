"""The generic chat webhook: one message or a batch, signed with the configured secret."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from services.chat.settings import ChatSettings
from shared.events import event_id_for
from tests.chat.test_website_chat import events_of
from tests.support.webhooks import standard_signed

SECRET = ChatSettings().generic_secret.get_secret_value()


def signed(payload: Any, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, standard_signed(secret, body)


def message(conversation: str, message_id: str, text: str) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "conversation_id": conversation,
        "sender": {"id": "u-42", "name": "Grace", "email": "Grace@Example.com"},
        "text": text,
        "sent_at": "2026-11-22T09:30:00+01:00",
        "source": "helpdesk",
    }


async def test_one_message_is_published(chat: httpx.AsyncClient, broker: str) -> None:
    conversation = uuid.uuid4().hex
    body, headers = signed(message(conversation, "m-1", "Is my invoice ready?"))
    answer = await chat.post("/webhooks/generic", content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    (event,) = await events_of(broker, f"helpdesk:{conversation}", 1)
    assert answer.json() == {"event_ids": [event["event_id"]], "duplicate": False}
    assert event["event_id"] == str(event_id_for("helpdesk", "m-1", "message.received"))
    assert event["type"] == "message.received"
    assert (event["channel"], event["provider"], event["direction"]) == (
        "chat", "helpdesk", "inbound",
    )  # fmt: skip
    assert event["occurred_at"].startswith("2026-11-22T08:30:00")
    assert event["customer"] == {
        "id": "Grace@Example.com", "display_name": "Grace", "kind": "email",
    }  # fmt: skip
    assert event["content"]["text"] == "Is my invoice ready?"


async def test_a_batch_is_published_together_in_order(chat: httpx.AsyncClient, broker: str) -> None:
    conversation = uuid.uuid4().hex
    texts = ["first", "second", "third"]
    batch = {"messages": [message(conversation, f"b-{i}", t) for i, t in enumerate(texts)]}
    body, headers = signed(batch)
    answer = await chat.post("/webhooks/generic", content=body, headers=headers)
    assert answer.status_code == 202, answer.text
    events = await events_of(broker, f"helpdesk:{conversation}", 3)
    assert [e["content"]["text"] for e in events] == texts
    assert answer.json()["event_ids"] == [e["event_id"] for e in events]


async def test_a_batch_with_one_bad_message_publishes_nothing(
    chat: httpx.AsyncClient, broker: str
) -> None:
    conversation = uuid.uuid4().hex
    good = message(conversation, "g-1", "fine")
    bad = {**message(conversation, "g-2", "x"), "text": 7}
    body, headers = signed({"messages": [good, bad]})
    answer = await chat.post("/webhooks/generic", content=body, headers=headers)
    assert answer.status_code == 400
    assert [p["field"] for p in answer.json()["detail"]] == ["messages.1.text"]

    body, headers = signed({"messages": []})
    empty = await chat.post("/webhooks/generic", content=body, headers=headers)
    assert empty.status_code == 400
    assert empty.json()["detail"][0]["field"] == "messages"
    garbage = b"{not json"
    headers = standard_signed(SECRET, garbage)
    malformed = await chat.post("/webhooks/generic", content=garbage, headers=headers)
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "bad_request"

    # The good message of the refused batch, sent alone now, is the only event of its conversation.
    body, headers = signed(good)
    assert (await chat.post("/webhooks/generic", content=body, headers=headers)).status_code == 202
    (event,) = await events_of(broker, f"helpdesk:{conversation}", 1)
    assert event["content"]["text"] == "fine"


async def test_a_wrong_signature_is_refused(chat: httpx.AsyncClient) -> None:
    body, headers = signed(message("c", "m", "hi"), secret="not-the-secret")
    assert (await chat.post("/webhooks/generic", content=body, headers=headers)).status_code == 401
    unsigned = await chat.post("/webhooks/generic", content=body)
    assert unsigned.status_code == 401
    assert unsigned.json()["error"] == "unauthorized"
