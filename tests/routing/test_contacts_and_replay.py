"""Contacts across channels, admin merge and split, replays, and the routing walk-through."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from services.chat.app import create_app as create_chat
from services.routing import handlers
from services.routing.unit_of_work import UnitOfWork
from shared.events import (
    INTERACTIONS_TOPIC,
    Channel,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
)
from tests.factories import interaction
from tests.routing.support import Routing, eventually, routing_settings, tag, types
from tests.support.kafka import read_topic, values
from tests.support.server import serving
from tests.support.webhooks import standard_signed


async def contact_of(routing: Routing, key: str) -> str:
    row = await routing.conversation_in(key, "queued")
    return str(row["contact_id"])


async def test_verified_email_and_phone_merge_across_channels(routing: Routing) -> None:
    t = tag()
    email = f"ada-{t}@example.com"
    phone = f"+1555{int(t[:6], 16) % 10**7:07d}"
    by_mail = await routing.customer_writes(
        provider=f"{t}-mail",
        channel=Channel.EMAIL,
        customer=Customer(id=email, kind="email", verified=True),
    )
    by_other_mail = await routing.customer_writes(
        provider=f"{t}-mail2",
        channel=Channel.EMAIL,
        customer=Customer(id=email.upper(), kind="email", verified=True),
    )
    by_whatsapp = await routing.customer_writes(
        provider=f"{t}-wa", channel=Channel.SOCIAL, customer=Customer(id=phone, kind="phone")
    )
    by_call = await routing.customer_writes(
        provider=f"{t}-voice",
        channel=Channel.PHONE,
        type=EventType.CALL_STARTED,
        customer=Customer(id=phone, kind="phone"),
    )
    typed_in_chat = await routing.customer_writes(
        provider=f"{t}-chat", customer=Customer(id=email, kind="email")
    )

    mail_contact = await contact_of(routing, by_mail.conversation_key)
    phone_contact = await contact_of(routing, by_whatsapp.conversation_key)
    assert await contact_of(routing, by_other_mail.conversation_key) == mail_contact
    assert await contact_of(routing, by_call.conversation_key) == phone_contact
    # An address typed into a chat widget is not verified: it stays a contact of its own.
    chat_contact = await contact_of(routing, typed_in_chat.conversation_key)
    assert len({mail_contact, phone_contact, chat_contact}) == 3

    merged = await routing.admin.post(
        "/admin/contacts/merge", json={"source_id": mail_contact, "target_id": phone_contact}
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["conversations"] == 4
    identities = {(i["namespace"], i["value"], i["verified"]) for i in merged.json()["identities"]}
    assert identities == {("email", email, True), ("phone", phone, True)}
    gone = await routing.admin.get(f"/admin/contacts/{mail_contact}")
    assert gone.status_code == 404

    (email_identity,) = [i["id"] for i in merged.json()["identities"] if i["namespace"] == "email"]
    split = await routing.admin.post(
        f"/admin/contacts/{phone_contact}/split", json={"identity_ids": [email_identity]}
    )
    assert split.status_code == 201, split.text
    assert split.json()["conversations"] == 2
    assert await contact_of(routing, by_other_mail.conversation_key) == split.json()["id"]
    remaining = (await routing.admin.get(f"/admin/contacts/{phone_contact}")).json()
    assert remaining["conversations"] == 2
    everything = await routing.admin.post(
        f"/admin/contacts/{phone_contact}/split",
        json={"identity_ids": [i["id"] for i in remaining["identities"]]},
    )
    assert everything.status_code == 400


async def test_automated_messages_and_statuses_never_open_a_conversation(
    routing: Routing,
) -> None:
    t = tag()
    auto_reply = interaction(provider=t, automated=True)
    status = interaction(provider=t, type=EventType.MESSAGE_STATUS)
    outbound = interaction(provider=t, type=EventType.MESSAGE_SENT, direction=Direction.OUTBOUND)
    async with UnitOfWork(routing.database) as uow:
        await handlers.record_interactions(
            uow, settings=routing_settings(), events=[auto_reply, status, outbound]
        )
    assert uow.steps.records == []
    rows = await routing.sql(
        "SELECT count(*) AS n FROM routing.conversation WHERE provider = :p", p=t
    )
    assert rows == [{"n": 0}]


async def test_a_batch_opens_new_conversations_and_counts_messages_in_open_ones(
    routing: Routing,
) -> None:
    t = tag()
    now = datetime.now(UTC)
    earlier = interaction(provider=t, occurred_at=now - timedelta(seconds=30))
    async with UnitOfWork(routing.database) as uow:
        await handlers.record_interactions(uow, settings=routing_settings(), events=[earlier])
    new_key = interaction(provider=t).conversation_key

    def message(key: str, seconds_ago: int) -> InteractionEvent:
        return interaction(
            provider=t, conversation_key=key, occurred_at=now - timedelta(seconds=seconds_ago)
        )

    batch = [
        message(new_key, 9),
        message(earlier.conversation_key, 8),
        message(new_key, 3),  # the latest of the new conversation
        message(earlier.conversation_key, 1),  # the latest of the open one
        message(new_key, 5),
    ]
    async with UnitOfWork(routing.database) as uow:
        await handlers.record_interactions(uow, settings=routing_settings(), events=batch)

    rows = await routing.sql(
        "SELECT conversation_key AS key, inbound_count, last_inbound_at, opened_at "
        "FROM routing.conversation WHERE provider = :p ORDER BY opened_at",
        p=t,
    )
    assert [(r["key"], r["inbound_count"]) for r in rows] == [
        (earlier.conversation_key, 3),
        (new_key, 3),
    ]
    assert rows[0]["last_inbound_at"] == batch[3].occurred_at
    assert rows[1]["opened_at"] == batch[0].occurred_at
    assert rows[1]["last_inbound_at"] == batch[2].occurred_at
    published = [json.loads(r.value) for r in uow.steps.records]
    opened = [e["conversation_key"] for e in published if e["type"] == LifecycleStep.OPENED]
    assert opened == [new_key]


async def test_replaying_the_same_events_changes_nothing(routing: Routing) -> None:
    t = tag()
    first = interaction(provider=t)
    second = interaction(provider=t, conversation_key=first.conversation_key)
    await routing.publish(first, second)
    await eventually(
        lambda: _inbound_count(routing, first.conversation_key, 2), what="two messages"
    )

    await routing.publish(first, second)  # the topic replayed
    third = interaction(provider=t, conversation_key=first.conversation_key)
    await routing.publish(third)  # same partition: handled after the replay

    await eventually(
        lambda: _inbound_count(routing, first.conversation_key, 3), what="the third message"
    )
    rows = await routing.sql(
        "SELECT inbound_count FROM routing.conversation WHERE conversation_key = :k",
        k=first.conversation_key,
    )
    assert rows == [{"inbound_count": 3}]
    steps = await routing.lifecycle(
        first.conversation_key, lambda es: "opened" in types(es), settle=1.0
    )
    assert types(steps) == ["opened"]

    # The service layer alone: a second pass over the same event publishes nothing.
    fresh = interaction(provider=f"{t}-direct")
    published = []
    for _ in range(2):
        async with UnitOfWork(routing.database) as uow:
            await handlers.record_interactions(uow, settings=routing_settings(), events=[fresh])
        published.append(len(uow.steps.records))
    assert published == [1, 0]


async def test_a_message_after_the_reopen_window_opens_a_new_conversation(
    routing: Routing,
) -> None:
    t = tag()
    settings = routing_settings(reopen_window_s=60)
    now = datetime.now(UTC)
    first = interaction(provider=t, occurred_at=now - timedelta(minutes=10))
    key = first.conversation_key
    left = interaction(
        provider=t,
        type=EventType.CUSTOMER_LEFT,
        conversation_key=key,
        occurred_at=now - timedelta(minutes=9),
    )
    within = interaction(
        provider=t, conversation_key=key, occurred_at=now - timedelta(minutes=8, seconds=30)
    )
    left_again = interaction(
        provider=t,
        type=EventType.CUSTOMER_LEFT,
        conversation_key=key,
        occurred_at=now - timedelta(minutes=8),
    )
    after = interaction(provider=t, conversation_key=key, occurred_at=now)
    for event in (first, left, within, left_again, after):
        async with UnitOfWork(routing.database) as uow:
            await handlers.record_interactions(uow, settings=settings, events=[event])

    rows = await routing.sql(
        "SELECT id, status, reopen_count FROM routing.conversation "
        "WHERE conversation_key = :k ORDER BY opened_at",
        k=key,
    )
    assert [(r["status"], r["reopen_count"]) for r in rows] == [("abandoned", 1), ("queued", 0)]


async def test_walkthrough_from_the_chat_webhook_to_resolved(routing: Routing) -> None:
    """The curl walk-through of docs/routing.md, step by step."""
    t = tag()
    queue = await routing.queue(providers=[t], required_skills=["support"], channel="chat")
    created = await routing.admin.post(
        "/admin/agents", json={"name": "Grace", "skills": ["support"], "languages": ["en"]}
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    chat_id = f"visit-{uuid.uuid4().hex[:8]}"
    message = {
        "message_id": f"m-{uuid.uuid4().hex}",
        "conversation_id": chat_id,
        "sender": {"id": "visitor-7", "name": "Ada"},
        "text": "Where is my parcel?",
        "source": t,
    }
    body = json.dumps(message).encode()

    async with (
        serving(create_chat()) as chat_url,
        httpx.AsyncClient(base_url=chat_url) as chat,
        httpx.AsyncClient(
            base_url=routing.url, headers={"Authorization": f"Bearer {token}"}
        ) as agent,
    ):
        status = await agent.put("/agent/status", json={"status": "available"})
        assert status.json()["status"] == "available"
        sent = await chat.post(
            "/webhooks/generic",
            content=body,
            headers=standard_signed("dev-generic-secret", body),
        )
        assert sent.status_code == 202, sent.text

        async def offered() -> list[dict[str, object]]:
            found: list[dict[str, object]] = (await agent.get("/agent/offers")).json()
            return found

        (offer,) = await eventually(offered, what="the offer")
        key = f"{t}:{chat_id}"
        assert offer["conversation_key"] == key
        accepted = await agent.post(f"/agent/offers/{offer['id']}/accept")
        assert accepted.json()["status"] == "assigned"
        assert accepted.json()["queue"] == queue["name"]
        conversation_id = offer["conversation_id"]
        replied = await agent.post(
            f"/agent/conversations/{conversation_id}/reply",
            json={"text": "It arrives tomorrow."},
        )
        assert replied.status_code == 202, replied.text
        resolved = await agent.post(f"/agent/conversations/{conversation_id}/resolve")
        assert resolved.json()["status"] == "resolved"
        await agent.put("/agent/status", json={"status": "offline"})

    records = await read_topic(
        routing.broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(
            v["conversation_key"] == key and v["type"] == "message.sent" for v in values(rs)
        ),
    )
    (reply,) = [
        v for v in values(records) if v["conversation_key"] == key and v["type"] == "message.sent"
    ]
    assert (reply["provider"], reply["channel"], reply["customer"]["id"]) == (
        t,
        "chat",
        "visitor-7",
    )
    steps = await routing.lifecycle(key, lambda es: "resolved" in types(es))
    assert types(steps) == [
        "opened",
        "queued",
        "offered",
        "accepted",
        "assigned",
        "first_reply",
        "resolved",
    ]


async def _inbound_count(routing: Routing, key: str, wanted: int) -> bool:
    row = await routing.conversation(key)
    return row is not None and row["inbound_count"] == wanted
