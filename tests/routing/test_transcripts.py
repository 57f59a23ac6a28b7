"""Transcripts: customers' messages and agents' replies, their delivery statuses, who may read
them, replies without an outbound path, and the agent stream's replay."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.routing.domain import Conversation, ConversationStatus
from services.routing.outbound import NoOutboundPath, require_outbound_path
from shared.clock import utc_now
from shared.events import (
    INTERACTIONS_TOPIC,
    Attachment,
    Channel,
    Content,
    Direction,
    EventType,
    InteractionEvent,
    MessageStatus,
    event_id_for,
)
from tests.factories import interaction
from tests.routing.support import Agent, Routing, eventually, tag
from tests.support.kafka import read_topic, values

#: Providers named reply-* stand for channels with an outbound path; any other has none.
ROUTING_SETTINGS = {"reply_providers": "reply-*"}


async def held_by(routing: Routing, *, provider: str | None = None) -> tuple[Agent, str]:
    """A queue and an available agent of their own: (the agent, the provider to write on)."""
    t = tag()
    provider = provider or f"reply-{t}"
    await routing.queue(providers=[provider], required_skills=[t])
    return await routing.agent(skills=[t], status="available"), provider


async def messages(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def transcript(agent: Agent, conversation_id: str) -> list[dict[str, Any]]:
    path = f"/agent/conversations/{conversation_id}/messages"
    found: list[dict[str, Any]] = (await messages(agent.client, path, limit=200))["messages"]
    return found


async def message_with(
    agent: Agent, conversation_id: str, reply_id: str, **wanted: Any
) -> dict[str, Any]:
    """Wait until the conversation's message ``reply_id`` has the ``wanted`` fields."""

    async def probe() -> dict[str, Any] | None:
        found = next(m for m in await transcript(agent, conversation_id) if m["id"] == reply_id)
        return found if all(found[k] == v for k, v in wanted.items()) else None

    return await eventually(probe, what=f"message {reply_id} with {wanted}")


def status(
    reply: InteractionEvent | dict[str, Any],
    value: MessageStatus,
    *,
    status_of: uuid.UUID | None,
    raw_ref: str | None,
    reason: str | None = None,
    attempt: str = "",
) -> InteractionEvent:
    """A message.status on an agent's reply, as a connector or a provider receipt sends it."""
    sent = reply if isinstance(reply, dict) else json.loads(reply.to_json())
    return interaction(
        event_id=event_id_for(sent["provider"], f"{sent['event_id']}:{value}{attempt}", "status"),
        type=EventType.MESSAGE_STATUS,
        direction=Direction.OUTBOUND,
        provider=sent["provider"],
        conversation_key=sent["conversation_key"],
        content=Content(status=value, status_reason=reason),
        status_of=status_of,
        raw_ref=raw_ref,
    )


async def message_sent(routing: Routing, event_id: str) -> dict[str, Any]:
    """The message.sent of a reply, as routing published it."""
    records = await read_topic(
        routing.broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(v.get("event_id") == event_id for v in values(rs)),
    )
    return next(v for v in values(records) if v.get("event_id") == event_id)


async def test_inbound_messages_appear_in_order_with_cursors(routing: Routing) -> None:
    agent, provider = await held_by(routing)
    key = f"{provider}:{uuid.uuid4().hex}"
    photo = Attachment(name="receipt.png", content_type="image/png", size=2048)
    first = interaction(
        provider=provider,
        conversation_key=key,
        raw_ref="m-1",
        content=Content(
            subject="Order 1234",
            text="Hello,\n\nwhere is my order?\n\n> quoted",
            stripped_text="Hello,\n\nwhere is my order?",
            attachments=(photo,),
        ),
    )
    second = interaction(provider=provider, conversation_key=key, raw_ref="m-2")
    bot = interaction(
        provider=provider,
        conversation_key=key,
        raw_ref="m-3",
        automated=True,
        content=Content(text="[auto] We received your message."),
    )
    await routing.publish(first, second, bot)
    offer = await agent.offer_for(key)
    conversation_id = offer["conversation_id"]
    path = f"/agent/conversations/{conversation_id}/messages"

    # Offered (not yet accepted) is enough to read it.
    page = await messages(agent.client, path, limit=2)
    assert [m["raw_ref"] for m in page["messages"]] == ["m-1", "m-2"]
    assert page["next_after"] == page["messages"][-1]["seq"]
    assert page["messages"][0]["seq"] < page["messages"][1]["seq"]
    opening = page["messages"][0]
    assert opening["direction"] == "inbound"
    assert opening["author"] == "customer"
    assert opening["subject"] == "Order 1234"
    assert opening["text"] == first.content.text  # type: ignore[union-attr]
    assert opening["stripped_text"] == "Hello,\n\nwhere is my order?"
    assert opening["attachments"] == [
        {"name": "receipt.png", "content_type": "image/png", "size": 2048, "inline": False}
    ]
    assert opening["status"] is None
    rest = await messages(agent.client, path, after=page["next_after"])
    assert [(m["raw_ref"], m["author"]) for m in rest["messages"]] == [("m-3", "bot")]
    end = await messages(agent.client, path, after=rest["next_after"])
    assert end == {"messages": [], "next_after": rest["next_after"]}

    # Nobody else's: another agent gets 404, as for every other conversation of someone else.
    other = await routing.agent()
    response = await other.client.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    # Admins read every transcript.
    admin = await messages(routing.admin, f"/admin/conversations/{conversation_id}/messages")
    assert [m["raw_ref"] for m in admin["messages"]] == ["m-1", "m-2", "m-3"]
    missing = await routing.admin.get(f"/admin/conversations/{uuid.uuid4()}/messages")
    assert missing.status_code == 404
    too_many = await routing.admin.get(
        f"/admin/conversations/{conversation_id}/messages", params={"limit": 201}
    )
    assert too_many.status_code == 422


async def test_a_reply_is_pending_and_its_message_sent_answers_the_last_customer_message(
    routing: Routing,
) -> None:
    agent, provider = await held_by(routing)
    key = f"{provider}:{uuid.uuid4().hex}"
    await routing.publish(interaction(provider=provider, conversation_key=key, raw_ref="wamid.1"))
    conversation = await agent.take(key)
    later = interaction(provider=provider, conversation_key=key, raw_ref="wamid.2")
    await routing.publish(later)

    async def two_inbound() -> list[dict[str, Any]] | None:
        found = await transcript(agent, conversation["id"])
        return found if len(found) == 2 else None

    inbound = await eventually(two_inbound, what="the second customer message")
    reply_id = str(uuid.uuid4())
    body = {
        "text": "Your order ships today.",
        "reply_id": reply_id,
        "template": {"name": "order_update", "language": "en_US"},
    }
    response = await agent.post(f"/agent/conversations/{conversation['id']}/reply", body)
    again = await agent.post(f"/agent/conversations/{conversation['id']}/reply", body)

    assert (response.status_code, again.status_code) == (202, 202)
    found = await transcript(agent, conversation["id"])
    assert len(found) == 3  # the same reply id twice is one message
    reply = found[-1]
    assert (reply["id"], reply["direction"], reply["author"]) == (reply_id, "outbound", "agent")
    assert (reply["agent_id"], reply["text"], reply["status"]) == (
        agent.id,
        "Your order ships today.",
        "pending",
    )
    assert reply["raw_ref"] is None  # known once the connector sent it
    sent = await message_sent(routing, response.json()["event_id"])
    assert sent["content"]["in_reply_to"] == "wamid.2"
    assert sent["provider_meta"] == {
        "customer_last_message_at": inbound[-1]["at"].replace("Z", "+00:00"),
        "whatsapp_template": "order_update",
        "whatsapp_template_language": "en_US",
    }


async def test_statuses_move_a_reply_forward_only(routing: Routing) -> None:
    agent, provider = await held_by(routing)
    customer = await routing.customer_writes(provider=provider, raw_ref="in-1")
    conversation = await agent.take(customer.conversation_key)
    path = f"/agent/conversations/{conversation['id']}/reply"
    reply_id = str(uuid.uuid4())
    response = await agent.post(path, {"text": "On its way.", "reply_id": reply_id})
    assert response.status_code == 202
    sent = await message_sent(routing, response.json()["event_id"])
    event_id = uuid.UUID(sent["event_id"])

    # The connector's own outcome names the message.sent; the provider's receipts only its id.
    await routing.publish(
        status(sent, MessageStatus.SENT, status_of=event_id, raw_ref="prov-1"),
        status(sent, MessageStatus.DELIVERED, status_of=None, raw_ref="prov-1"),
        status(sent, MessageStatus.READ, status_of=None, raw_ref="prov-1"),
    )
    read = await message_with(agent, conversation["id"], reply_id, status="read")
    assert (read["raw_ref"], read["status_reason"]) == ("prov-1", None)

    # A late delivered receipt and a redelivered sent change nothing.
    marker = interaction(
        provider=provider, conversation_key=customer.conversation_key, raw_ref="in-2"
    )
    await routing.publish(
        status(sent, MessageStatus.DELIVERED, status_of=None, raw_ref="prov-1", attempt="-late"),
        status(sent, MessageStatus.SENT, status_of=event_id, raw_ref="prov-1"),
        marker,
    )

    async def marker_stored() -> list[dict[str, Any]] | None:
        found = await transcript(agent, conversation["id"])
        return found if found[-1]["raw_ref"] == "in-2" else None

    found = await eventually(marker_stored, what="the marker message")
    assert next(m for m in found if m["id"] == reply_id)["status"] == "read"
    # The agent was told of each step once.
    notices = await routing.sql(
        "SELECT data->>'status' AS status FROM routing.agent_notice "
        "WHERE type = 'message.status' AND data->>'message_id' = :id ORDER BY seq",
        id=reply_id,
    )
    assert [n["status"] for n in notices] == ["sent", "delivered", "read"]


async def test_a_failed_reply_shows_its_reason_until_a_retried_send_succeeds(
    routing: Routing,
) -> None:
    agent, provider = await held_by(routing)
    customer = await routing.customer_writes(provider=provider)
    conversation = await agent.take(customer.conversation_key)
    reply_id = str(uuid.uuid4())
    response = await agent.post(
        f"/agent/conversations/{conversation['id']}/reply", {"text": "Hi", "reply_id": reply_id}
    )
    sent = await message_sent(routing, response.json()["event_id"])
    event_id = uuid.UUID(sent["event_id"])
    reason = "(#131047) Re-engagement message: more than 24 hours have passed"

    await routing.publish(
        status(sent, MessageStatus.FAILED, status_of=event_id, raw_ref=None, reason=reason)
    )
    failed = await message_with(agent, conversation["id"], reply_id, status="failed")
    assert failed["status_reason"] == reason

    await routing.publish(
        status(sent, MessageStatus.SENT, status_of=event_id, raw_ref="prov-2", attempt="-retry")
    )
    retried = await message_with(agent, conversation["id"], reply_id, status="sent")
    assert (retried["status_reason"], retried["raw_ref"]) == (None, "prov-2")


async def test_a_reply_without_an_outbound_path_answers_409(routing: Routing) -> None:
    agent, provider = await held_by(routing, provider=f"nowhere-{tag()}")
    customer = await routing.customer_writes(provider=provider)
    conversation = await agent.take(customer.conversation_key)

    response = await agent.post(
        f"/agent/conversations/{conversation['id']}/reply", {"text": "Hello?"}
    )

    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "no_outbound_path"
    assert provider in body["message"]
    assert body["detail"] == {"provider": provider}
    # Nothing was recorded: the transcript holds the customer's message alone.
    assert [m["direction"] for m in await transcript(agent, conversation["id"])] == ["inbound"]


async def test_a_call_is_answered_by_accepting_it_at_the_agents_phone_address(
    routing: Routing,
) -> None:
    t = tag()
    # Its own language keeps other tests' calls out of this queue.
    await routing.queue(
        channel="phone", providers=["twilio_voice"], language=t, required_skills=[t], priority=1000
    )
    refused = await routing.admin.post(
        "/admin/agents", json={"name": "x", "skills": [t], "phone_address": "555-0100"}
    )
    assert refused.status_code == 422
    agent = await routing.agent(skills=[t], languages=[t], phone_address="+15550100200")
    changed = await routing.admin.patch(
        f"/admin/agents/{agent.id}", json={"phone_address": "sip:agent@pbx.example.com"}
    )
    assert changed.status_code == 200, changed.text
    me = (await agent.client.get("/agent/me")).json()
    assert me["phone_address"] == "sip:agent@pbx.example.com"
    await agent.status("available")
    call_id = f"CA{uuid.uuid4().hex}"
    call = interaction(
        event_id=event_id_for("twilio_voice", call_id, EventType.CALL_STARTED),
        type=EventType.CALL_STARTED,
        channel=Channel.PHONE,
        provider="twilio_voice",
        conversation_key=f"twilio_voice:{call_id}",
        content=Content(language=t),
        raw_ref=call_id,
    )
    await routing.publish(call)

    conversation = await agent.take(call.conversation_key)
    response = await agent.post(f"/agent/conversations/{conversation['id']}/reply", {"text": "?"})

    assert response.status_code == 409
    assert response.json()["error"] == "no_outbound_path"
    assert response.json()["message"] == "a call is answered by accepting its offer"
    steps = await routing.lifecycle(
        call.conversation_key, lambda es: any(e["type"] == "conversation.accepted" for e in es)
    )
    accepted = next(e for e in steps if e["type"] == "conversation.accepted")
    assert accepted["agent_address"] == "sip:agent@pbx.example.com"


def test_live_calls_and_unlisted_providers_have_no_outbound_path() -> None:
    def conversation(provider: str, key: str, channel: str) -> Conversation:
        at = utc_now()
        return Conversation(
            id=uuid.uuid4(),
            conversation_key=key,
            channel=channel,
            provider=provider,
            customer_id="+15550100",
            customer_kind="phone",
            contact_id=None,
            language=None,
            status=ConversationStatus.ASSIGNED,
            opened_at=at,
            cycle_started_at=at,
            last_inbound_at=at,
        )

    everything = frozenset({"*"})
    require_outbound_path(
        conversation("twilio_sms", "sms:+1555:+1666", "phone"), providers=everything
    )
    require_outbound_path(conversation("generic", "generic:c-1", "phone"), providers=everything)
    calls = [
        (conversation("twilio_voice", "twilio_voice:CA1", "phone"), everything),
        (conversation("asterisk", "asterisk:c-1", "phone"), everything),
        (conversation("freeswitch", "freeswitch:c-1", "phone"), frozenset({"chat-*"})),
    ]
    for call, providers in calls:
        with pytest.raises(NoOutboundPath, match=r"^a call is answered by accepting its offer$"):
            require_outbound_path(call, providers=providers)
    with pytest.raises(NoOutboundPath, match="no outbound path for 'shop'"):
        require_outbound_path(conversation("shop", "shop:1", "chat"), providers=frozenset({"x"}))


async def next_event(lines: AsyncIterator[str]) -> dict[str, str]:
    """The next server-sent event's fields (comments skipped)."""
    fields: dict[str, str] = {}
    async for line in lines:
        if not line:
            if fields:
                return fields
            continue
        if not line.startswith(":"):
            name, _, value = line.partition(": ")
            fields[name] = value
    raise AssertionError("the stream ended")


async def test_the_stream_numbers_its_events_and_replays_what_a_reconnect_missed(
    routing: Routing,
) -> None:
    agent, provider = await held_by(routing)

    async with agent.client.stream("GET", "/agent/stream") as stream:
        lines = stream.aiter_lines()
        assert (await next_event(lines))["event"] == "ready"
        customer = await routing.customer_writes(provider=provider, raw_ref="in-1")
        offered = await next_event(lines)
    assert offered["event"] == "offer.created"
    assert json.loads(offered["data"])["conversation_id"]
    last_seen = offered["id"]

    # While the agent is away from the stream: two customer messages and a delivered reply.
    conversation = await agent.take(customer.conversation_key)
    long_text = "x" * 150 + "y" * 150
    for raw_ref, text in (("in-2", "Are you there?"), ("in-3", long_text)):
        await routing.customer_writes(
            provider=provider,
            conversation_key=customer.conversation_key,
            raw_ref=raw_ref,
            content=Content(text=text),
        )
    reply_id = str(uuid.uuid4())
    response = await agent.post(
        f"/agent/conversations/{conversation['id']}/reply", {"text": "Yes!", "reply_id": reply_id}
    )
    sent = await message_sent(routing, response.json()["event_id"])
    await routing.publish(
        status(sent, MessageStatus.SENT, status_of=uuid.UUID(sent["event_id"]), raw_ref="p-9")
    )
    await message_with(agent, conversation["id"], reply_id, status="sent")

    headers = {"Last-Event-ID": last_seen}
    async with agent.client.stream("GET", "/agent/stream", headers=headers) as stream:
        lines = stream.aiter_lines()
        assert (await next_event(lines))["event"] == "ready"
        missed = [await next_event(lines) for _ in range(3)]

    assert [m["event"] for m in missed] == ["message.created", "message.created", "message.status"]
    ids = [int(m["id"]) for m in missed]
    assert int(last_seen) < ids[0] < ids[1] < ids[2]
    stored = await transcript(agent, conversation["id"])
    created = [json.loads(m["data"]) for m in missed[:2]]
    assert created == [
        {
            "agent_id": agent.id,
            "type": "message.created",
            "conversation_id": conversation["id"],
            "message_id": message["id"],
            "seq": str(message["seq"]),
            "preview": message["text"][:200],
        }
        for message in [m for m in stored if m["direction"] == "inbound"][1:]
    ]
    assert len(created[1]["preview"]) == 200
    assert json.loads(missed[2]["data"]) == {
        "agent_id": agent.id,
        "type": "message.status",
        "conversation_id": conversation["id"],
        "message_id": reply_id,
        "status": "sent",
    }
