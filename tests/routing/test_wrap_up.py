"""Wrap-up after a resolve or a call's end, and the activity routing announces for occupancy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.events import (
    ROUTING_TOPIC,
    CallDisposition,
    CallInfo,
    Channel,
    Customer,
    EventType,
    event_id_for,
)
from tests.factories import interaction
from tests.routing.support import Agent, Routing, agent_steps, eventually, tag, types
from tests.support.kafka import read_topic, values


async def _status(agent: Agent) -> str:
    me = (await agent.client.get("/agent/me")).json()
    return str(me["status"])


async def _activity(
    routing: Routing, agent_id: str, until: Any, *, channel: str | None = None
) -> list[tuple[str, str | None]]:
    """(state, queue) of the agent's agent.activity_changed events of one scope, in order."""

    def mine(records: list[Any]) -> list[tuple[str, str | None]]:
        return [
            (v["agent_status"], v.get("queue"))
            for v in values(records)
            if v.get("type") == "agent.activity_changed"
            and v.get("agent_id") == agent_id
            and v.get("channel") == channel
        ]

    records = await read_topic(
        routing.broker, ROUTING_TOPIC, until=lambda rs: until(mine(rs)), timeout=30
    )
    return mine(records)


async def test_a_resolve_puts_the_agent_in_wrap_up_until_the_time_is_up(routing: Routing) -> None:
    t = tag()
    queue = await routing.queue(providers=[t], required_skills=[t], wrap_up_seconds=2)
    assert queue["wrap_up_seconds"] == 2
    agent = await routing.agent(skills=[t], capacity={"chat": 1})
    await agent.status("available")

    first = await routing.customer_writes(provider=t)
    conversation = await agent.take(first.conversation_key)
    resolved = await agent.post(f"/agent/conversations/{conversation['id']}/resolve")
    assert resolved.status_code == 200, resolved.text

    # A new chat reaches the agent once the worker has ended the wrap-up, without them asking.
    second = await routing.customer_writes(provider=t)
    await agent.offer_for(second.conversation_key)
    assert await _status(agent) == "available"
    changes = await agent_steps(routing.broker, agent.id, lambda es: len(es) >= 4)
    assert [c["agent_status"] for c in changes] == ["offline", "available", "wrap_up", "available"]

    steps = await routing.lifecycle(first.conversation_key, lambda es: "wrapped_up" in types(es))
    wrapped = [s for s in steps if s["type"] == "conversation.wrapped_up"]
    assert len(wrapped) == 1
    assert wrapped[0]["agent_id"] == agent.id
    assert wrapped[0]["queue"] == queue["name"]
    assert wrapped[0]["wrap_up_seconds"] >= 2
    statuses = await routing.sql(
        "SELECT count(*) AS n FROM routing.agent_wrap_up WHERE agent_id = CAST(:a AS uuid)",
        a=agent.id,
    )
    assert statuses[0]["n"] == 0


async def test_the_agent_says_ready_and_wrap_up_ends_at_once(routing: Routing) -> None:
    t = tag()
    queue = await routing.queue(providers=[t], required_skills=[t], wrap_up_seconds=600)
    agent = await routing.agent(skills=[t], capacity={"chat": 1})
    await agent.status("available")

    first = await routing.customer_writes(provider=t)
    conversation = await agent.take(first.conversation_key)
    await agent.post(f"/agent/conversations/{conversation['id']}/resolve")
    second = await routing.customer_writes(provider=t)
    await routing.conversation_in(second.conversation_key, "queued")
    assert await _status(agent) == "wrap_up"
    assert await agent.offers() == []

    await agent.status("available")
    await agent.take(second.conversation_key)

    steps = await routing.lifecycle(first.conversation_key, lambda es: "wrapped_up" in types(es))
    wrapped = next(s for s in steps if s["type"] == "conversation.wrapped_up")
    assert wrapped["wrap_up_seconds"] < 600

    overall = await _activity(routing, agent.id, lambda a: a.count(("handling", None)) >= 2)
    states = ["idle", "handling", "wrap_up", "idle", "handling"]
    assert overall == [(state, None) for state in states]
    chat = await _activity(routing, agent.id, lambda a: len(a) >= 5, channel="chat")
    # Idle time on a channel counts in the queue the agent last served there.
    name = queue["name"]
    assert chat == [("idle", None), *((state, name) for state in states[1:])]


async def test_wrap_up_blocks_only_its_own_channel(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t], wrap_up_seconds=600)
    await routing.queue(providers=[t], required_skills=[t], channel="email")
    agent = await routing.agent(skills=[t])
    await agent.status("available")

    chat = await routing.customer_writes(provider=t)
    conversation = await agent.take(chat.conversation_key)
    await agent.post(f"/agent/conversations/{conversation['id']}/resolve")
    assert await _status(agent) == "wrap_up"

    email = await routing.customer_writes(
        provider=t, channel=Channel.EMAIL, conversation_key=f"email:{t}"
    )
    await agent.take(email.conversation_key)
    another_chat = await routing.customer_writes(provider=t)
    await routing.conversation_in(another_chat.conversation_key, "queued")
    assert [o["conversation_key"] for o in await agent.offers()] == []
    await agent.status("offline")


async def test_the_end_of_a_call_starts_after_call_work(routing: Routing) -> None:
    t = tag()
    await routing.queue(channel="phone", providers=[t], required_skills=[t], wrap_up_seconds=600)
    agent = await routing.agent(skills=[t])
    await agent.status("available")
    key = f"{t}:call-1"
    now = datetime.now(UTC)
    started = interaction(
        event_id=event_id_for(t, "call-1", EventType.CALL_STARTED),
        type=EventType.CALL_STARTED,
        channel=Channel.PHONE,
        provider=t,
        conversation_key=key,
        customer=Customer(id="+15550100", kind="phone"),
        content=None,
        call=CallInfo(from_number="+15550100", to_number="+15550199"),
    )
    await routing.publish(started)
    await agent.take(key)
    ended = interaction(
        event_id=event_id_for(t, "call-1", EventType.CALL_ENDED),
        type=EventType.CALL_ENDED,
        channel=Channel.PHONE,
        provider=t,
        conversation_key=key,
        occurred_at=now,
        customer=Customer(id="+15550100", kind="phone"),
        content=None,
        call=CallInfo(disposition=CallDisposition.ANSWERED, talk_seconds=42),
    )
    await routing.publish(ended)
    await routing.conversation_in(key, "resolved")

    async def wrapping() -> bool:
        return await _status(agent) == "wrap_up"

    await eventually(wrapping, what="the agent to be in wrap-up")
    await agent.status("available")
    steps = await routing.lifecycle(key, lambda es: "wrapped_up" in types(es))
    assert types(steps)[-2:] == ["resolved", "wrapped_up"]
