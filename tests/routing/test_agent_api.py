"""The agent API over HTTP: accept, reply, transfer, resolve, reopen, isolation, the live stream."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from shared.events import (
    INTERACTIONS_TOPIC,
    CallDisposition,
    CallInfo,
    Channel,
    Customer,
    EventType,
)
from tests.routing.support import Agent, Routing, eventually, tag, types
from tests.support.kafka import read_topic, values


async def assigned(routing: Routing, agent: Agent, key: str) -> str:
    """Wait for the offer of ``key``, accept it; the conversation's id."""
    return str((await agent.take(key))["id"])


async def test_reply_publishes_message_sent_for_the_connector(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    event = await routing.customer_writes(provider=t)
    conversation_id = await assigned(routing, agent, event.conversation_key)
    reply_id = str(uuid.uuid4())

    first = await agent.post(
        f"/agent/conversations/{conversation_id}/reply", {"text": "Hi!", "reply_id": reply_id}
    )
    again = await agent.post(
        f"/agent/conversations/{conversation_id}/reply", {"text": "Hi!", "reply_id": reply_id}
    )
    later = await agent.post(f"/agent/conversations/{conversation_id}/reply", {"text": "Done."})

    assert [r.status_code for r in (first, again, later)] == [202, 202, 202]
    assert first.json()["event_id"] == again.json()["event_id"]
    key = event.conversation_key.encode()
    records = await read_topic(
        routing.broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: sum(r.key == key for r in rs) >= 3,
        settle=1.0,
    )
    sent = [v for r, v in zip(records, values(records), strict=True) if r.key == key][1:]
    assert [(s["type"], s["direction"], s["agent_id"]) for s in sent] == [
        ("message.sent", "outbound", agent.id),
        ("message.sent", "outbound", agent.id),
    ]
    assert [s["content"]["text"] for s in sent] == ["Hi!", "Done."]
    assert {(s["channel"], s["provider"], s["conversation_key"]) for s in sent} == {
        ("chat", t, event.conversation_key)
    }
    assert sent[0]["customer"]["id"] == event.customer.id
    steps = await routing.lifecycle(event.conversation_key, lambda es: "first_reply" in types(es))
    assert types(steps).count("first_reply") == 1


async def test_transfer_to_an_agent_then_to_a_queue(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    billing = await routing.queue(providers=[f"{t}-none"], required_skills=[f"{t}-billing"])
    first = await routing.agent(skills=[t], status="available")
    second = await routing.agent(skills=[t])
    biller = await routing.agent(skills=[f"{t}-billing"], status="available")
    event = await routing.customer_writes(provider=t)
    conversation_id = await assigned(routing, first, event.conversation_key)
    path = f"/agent/conversations/{conversation_id}/transfer"

    refused = await first.post(path, {"to_agent_id": second.id, "note": "yours"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["message"] == "the agent is offline"
    await second.status("available")
    handed = await first.post(path, {"to_agent_id": second.id, "note": "VIP, be nice"})
    assert handed.status_code == 200, handed.text
    offer = await second.offer_for(event.conversation_key)
    assert offer["note"] == "VIP, be nice"
    await second.accept(offer)
    unknown = await second.post(path, {"to_queue": f"{t}-nope"})
    assert unknown.status_code == 404
    moved = await second.post(path, {"to_queue": billing["name"], "note": "refund"})
    assert moved.status_code == 200, moved.text
    await biller.take(event.conversation_key)

    steps = await routing.lifecycle(
        event.conversation_key, lambda es: types(es).count("assigned") == 3
    )
    transfers = [s for s in steps if s["type"] == "conversation.transferred"]
    assert [(s.get("agent_id"), s["previous_agent_id"], s["note"]) for s in transfers] == [
        (second.id, first.id, "VIP, be nice"),
        (None, second.id, "refund"),
    ]
    assert transfers[1]["queue"] == billing["name"]
    assert (await first.client.get("/agent/conversations")).json() == []


async def test_resolve_then_reopen_on_a_new_message(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    event = await routing.customer_writes(provider=t)
    conversation_id = await assigned(routing, agent, event.conversation_key)

    resolved = await agent.post(f"/agent/conversations/{conversation_id}/resolve")
    twice = await agent.post(f"/agent/conversations/{conversation_id}/resolve")
    late_reply = await agent.post(f"/agent/conversations/{conversation_id}/reply", {"text": "x"})

    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert twice.status_code == 409
    assert twice.json()["message"] == "cannot resolve: the conversation is already resolved"
    assert late_reply.status_code == 409
    await routing.customer_writes(
        provider=t, conversation_key=event.conversation_key, customer=event.customer
    )
    reopened = await agent.take(event.conversation_key)
    assert (reopened["id"], reopened["reopen_count"]) == (conversation_id, 1)
    steps = await routing.lifecycle(
        event.conversation_key, lambda es: types(es).count("assigned") == 2
    )
    assert types(steps) == [
        "opened",
        "queued",
        "offered",
        "accepted",
        "assigned",
        "resolved",
        "reopened",
        "queued",
        "offered",
        "accepted",
        "assigned",
    ]


async def test_wrong_state_answers_409_saying_why(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t], offer_timeout_seconds=1)
    agent = await routing.agent(skills=[t], status="available")
    event = await routing.customer_writes(provider=t)
    offer = await agent.offer_for(event.conversation_key)

    early = await agent.post(f"/agent/conversations/{offer['conversation_id']}/resolve")
    assert early.status_code == 409
    assert early.json()["detail"] == {"status": "offered"}
    assert "accept the offer first" in early.json()["message"]

    async def expired() -> bool:
        rows = await routing.sql(
            "SELECT state FROM routing.offer WHERE id = CAST(:o AS uuid)", o=offer["id"]
        )
        return bool(rows[0]["state"] == "timed_out")

    await eventually(expired, what="the offer to time out")
    late = await agent.post(f"/agent/offers/{offer['id']}/accept")
    assert late.status_code == 409
    assert late.json()["message"] == "the offer was already timed out"


async def test_an_agent_cannot_see_or_touch_another_agents_work(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    owner = await routing.agent(skills=[t], status="available")
    intruder = await routing.agent(skills=[f"{t}-other"], status="available")
    pending = await routing.customer_writes(provider=t)
    taken = await routing.customer_writes(provider=t)
    conversation_id = await assigned(routing, owner, taken.conversation_key)
    offer = await owner.offer_for(pending.conversation_key)

    attempts = [
        await intruder.post(f"/agent/offers/{offer['id']}/accept"),
        await intruder.post(f"/agent/offers/{offer['id']}/decline"),
        await intruder.post(f"/agent/conversations/{conversation_id}/reply", {"text": "hi"}),
        await intruder.post(f"/agent/conversations/{conversation_id}/resolve"),
        await intruder.post(
            f"/agent/conversations/{conversation_id}/transfer", {"to_agent_id": intruder.id}
        ),
    ]
    assert [a.status_code for a in attempts] == [404] * 5
    assert {a.json()["error"] for a in attempts} == {"not_found"}
    assert await intruder.offers() == []
    assert (await intruder.client.get("/agent/conversations")).json() == []
    async with httpx.AsyncClient(base_url=routing.url) as anonymous:
        assert (await anonymous.get("/agent/offers")).status_code == 401
        forged = await anonymous.get("/agent/offers", headers={"Authorization": "Bearer nope"})
        assert forged.status_code == 401
        as_admin = await anonymous.get(
            "/admin/agents", headers={"Authorization": f"Bearer {owner.token}"}
        )
        assert as_admin.status_code == 401
    held = (await owner.client.get("/agent/conversations")).json()
    assert {c["conversation_key"] for c in held} == {
        pending.conversation_key,
        taken.conversation_key,
    }


async def test_bad_input_gets_4xx_with_a_json_body(routing: Routing) -> None:
    agent = await routing.agent()
    both = await agent.post(
        f"/agent/conversations/{uuid.uuid4()}/transfer",
        {"to_agent_id": str(uuid.uuid4()), "to_queue": "x"},
    )
    status = await agent.client.put("/agent/status", json={"status": "sleeping"})
    not_an_id = await agent.post("/agent/offers/123/accept")
    unknown = await agent.post(f"/agent/offers/{uuid.uuid4()}/accept")
    bad_queue = await routing.admin.post("/admin/queues", json={"name": "a b", "channel": "fax"})

    assert [r.status_code for r in (both, status, not_an_id, unknown, bad_queue)] == [
        422,
        422,
        422,
        404,
        422,
    ]
    assert {p["field"] for p in bad_queue.json()["detail"]} == {"body.name", "body.channel"}
    assert "exactly one" in both.json()["detail"][0]["problem"]
    taken = await routing.queue(providers=[tag()], required_skills=[tag()])
    duplicate = await routing.admin.post(
        "/admin/queues", json={"name": taken["name"], "channel": "chat", "providers": [tag()]}
    )
    assert duplicate.status_code == 409


async def test_a_customer_who_leaves_before_an_answer_abandons(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    event = await routing.customer_writes(provider=t)
    await agent.offer_for(event.conversation_key)

    await routing.customer_writes(
        provider=t,
        type=EventType.CUSTOMER_LEFT,
        conversation_key=event.conversation_key,
        customer=event.customer,
    )

    row = await routing.conversation_in(event.conversation_key, "abandoned")
    assert row["agent_id"] is None
    assert await agent.offers() == []
    steps = await routing.lifecycle(event.conversation_key, lambda es: "abandoned" in types(es))
    assert types(steps) == ["opened", "queued", "offered", "abandoned"]


async def test_a_call_hung_up_in_the_queue_abandons_and_an_answered_one_resolves(
    routing: Routing,
) -> None:
    t = tag()
    await routing.queue(channel="phone", providers=[t], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    call: dict[str, Any] = {
        "channel": Channel.PHONE,
        "customer": Customer(id="+15550001", kind="phone"),
    }
    hung_up = await routing.customer_writes(provider=t, type=EventType.CALL_STARTED, **call)
    await agent.offer_for(hung_up.conversation_key)
    await routing.customer_writes(
        provider=t,
        type=EventType.CALL_ENDED,
        conversation_key=hung_up.conversation_key,
        call=CallInfo(disposition=CallDisposition.ABANDONED),
        **call,
    )
    await routing.conversation_in(hung_up.conversation_key, "abandoned")

    answered = await routing.customer_writes(provider=t, type=EventType.CALL_STARTED, **call)
    await agent.take(answered.conversation_key)
    await routing.customer_writes(
        provider=t,
        type=EventType.CALL_ENDED,
        conversation_key=answered.conversation_key,
        call=CallInfo(disposition=CallDisposition.ANSWERED, talk_seconds=42),
        **call,
    )
    await routing.conversation_in(answered.conversation_key, "resolved")
    steps = await routing.lifecycle(answered.conversation_key, lambda es: "resolved" in types(es))
    assert (steps[-1]["type"], steps[-1]["agent_id"]) == ("conversation.resolved", agent.id)
    assert (await agent.client.get("/agent/conversations")).json() == []


async def test_the_stream_pushes_new_offers_live(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")

    async with agent.client.stream("GET", "/agent/stream") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == "retry: 1000"
        assert await anext(lines) == "event: ready"
        event = await routing.customer_writes(provider=t)
        offer = await agent.offer_for(event.conversation_key)
        pushed = None
        async for line in lines:
            if line.startswith("data: ") and "offer.created" in line:
                pushed = json.loads(line.removeprefix("data: "))
                break
    assert pushed == {
        "agent_id": agent.id,
        "type": "offer.created",
        "offer_id": offer["id"],
        "conversation_id": offer["conversation_id"],
    }


async def test_the_overview_counts_waiting_conversations_and_agents(routing: Routing) -> None:
    t = tag()
    queue = await routing.queue(providers=[t], required_skills=[t])
    await routing.agent(skills=[t], status="away")
    for _ in range(3):
        event = await routing.customer_writes(provider=t)
        await routing.conversation_in(event.conversation_key, "queued")

    async def three_waiting() -> dict[str, Any] | None:
        body: dict[str, Any] = (await routing.admin.get("/admin/overview")).json()
        row = next(q for q in body["queues"] if q["name"] == queue["name"])
        return body if row["waiting"] == 3 else None

    body = await eventually(three_waiting, what="three waiting")
    row = next(q for q in body["queues"] if q["name"] == queue["name"])
    assert (row["offered"], row["assigned"]) == (0, 0)
    assert row["longest_wait_seconds"] >= 0
    assert body["agents_by_status"]["away"] >= 1
    skills = (await routing.admin.get("/admin/skills")).json()
    assert t in skills


async def test_values_postgres_cannot_store_answer_422_not_500(routing: Routing) -> None:
    """Found by the OpenAPI fuzz drill: a NUL character, a number beyond the column's range."""
    nul = await routing.admin.post("/admin/agents", json={"name": "a\u0000b"})
    huge = await routing.admin.post(
        "/admin/queues",
        json={"name": f"q-{uuid.uuid4().hex[:10]}", "channel": "chat", "sla_seconds": 2**62},
    )
    for response in (nul, huge):
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "invalid_value"


async def test_a_body_over_the_limit_gets_413_and_the_conversation_goes_on(
    routing: Routing,
) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    event = await routing.customer_writes(provider=t)
    conversation_id = await assigned(routing, agent, event.conversation_key)
    path = f"/agent/conversations/{conversation_id}/reply"
    huge = json.dumps({"text": "x" * 2 * 1024 * 1024}).encode()

    async def chunks() -> Any:  # no Content-Length: the limit must count what arrives
        for start in range(0, len(huge), 64 * 1024):
            yield huge[start : start + 64 * 1024]

    declared = await agent.client.post(
        path, content=huge, headers={"content-type": "application/json"}
    )
    streamed = await agent.client.post(path, content=chunks())
    fine = await agent.post(path, {"text": "Still here."})

    for refused in (declared, streamed):
        assert refused.status_code == 413, refused.text
        assert refused.json()["error"] == "payload_too_large"
        assert str(1024 * 1024) in refused.json()["message"]
    assert fine.status_code == 202, fine.text
