"""Offer timeouts, agents set away, reply timeouts and agents going offline."""

from __future__ import annotations

from tests.routing.support import Routing, agent_steps, eventually, tag, types


async def test_an_unanswered_offer_times_out_and_goes_to_the_next_agent(
    routing: Routing,
) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t], offer_timeout_seconds=1)
    sleepy = await routing.agent(skills=[t])
    awake = await routing.agent(skills=[t])
    await sleepy.status("available")
    await awake.status("available")

    event = await routing.customer_writes(provider=t)

    await sleepy.offer_for(event.conversation_key)
    await awake.take(event.conversation_key)
    steps = await routing.lifecycle(event.conversation_key, lambda es: "assigned" in types(es))
    assert types(steps) == [
        "opened",
        "queued",
        "offered",
        "timed_out",
        "offered",
        "accepted",
        "assigned",
    ]
    assert [s.get("agent_id") for s in steps[2:5]] == [sleepy.id, sleepy.id, awake.id]
    me = (await sleepy.client.get("/agent/me")).json()
    assert (me["status"], me["consecutive_timeouts"]) == ("available", 1)


async def test_n_timeouts_in_a_row_set_the_agent_away(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t], offer_timeout_seconds=1)
    absent = await routing.agent(skills=[t])
    await absent.status("available")

    first = await routing.customer_writes(provider=t)
    second = await routing.customer_writes(provider=t)

    async def away() -> bool:
        me = (await absent.client.get("/agent/me")).json()
        return bool(me["status"] == "away")

    await eventually(away, what="the agent to be set away")
    assert await absent.offers() == []
    for event in (first, second):
        row = await routing.conversation_in(event.conversation_key, "queued")
        assert row["agent_id"] is None
    changes = await routing.sql(
        "SELECT count(*) AS n FROM routing.offer "
        "WHERE agent_id = CAST(:a AS uuid) AND state = 'timed_out'",
        a=absent.id,
    )
    assert changes[0]["n"] >= 2


async def test_no_reply_within_the_queue_timeout_requeues_the_conversation(
    routing: Routing,
) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t], reply_timeout_seconds=2)
    silent = await routing.agent(skills=[t])
    helpful = await routing.agent(skills=[t])
    await silent.status("available")
    await helpful.status("available")

    event = await routing.customer_writes(provider=t)
    await silent.take(event.conversation_key)

    conversation = await helpful.take(event.conversation_key)
    reply = await helpful.post(
        f"/agent/conversations/{conversation['id']}/reply", {"text": "On it!"}
    )
    assert reply.status_code == 202, reply.text
    steps = await routing.lifecycle(event.conversation_key, lambda es: "first_reply" in types(es))
    requeued = [s for s in steps if s["type"] == "conversation.requeued"]
    assert [(s["agent_id"], s["note"]) for s in requeued] == [(silent.id, "no reply in time")]
    assert [s["agent_id"] for s in steps if s["type"] == "conversation.first_reply"] == [helpful.id]


async def test_going_offline_returns_offers_and_requeues_where_the_queue_says(
    routing: Routing,
) -> None:
    t = tag()
    keep, requeue, offered = f"{t}-keep", f"{t}-requeue", f"{t}-offered"
    await routing.queue(providers=[keep], required_skills=[t], on_agent_offline="keep")
    await routing.queue(providers=[requeue], required_skills=[t], on_agent_offline="requeue")
    await routing.queue(providers=[offered], required_skills=[t])
    leaving = await routing.agent(skills=[t])
    await leaving.status("available")
    kept = await routing.customer_writes(provider=keep)
    await leaving.take(kept.conversation_key)
    returned = await routing.customer_writes(provider=requeue)
    await leaving.take(returned.conversation_key)
    pending = await routing.customer_writes(provider=offered)
    await leaving.offer_for(pending.conversation_key)

    me = await leaving.status("offline")

    assert me["status"] == "offline"
    assert await leaving.offers() == []
    held = (await leaving.client.get("/agent/conversations")).json()
    assert [c["conversation_key"] for c in held] == [kept.conversation_key]
    for event in (returned, pending):
        row = await routing.conversation(event.conversation_key)
        assert row is not None
        assert (row["status"], row["agent_id"]) == ("queued", None)
    steps = await routing.lifecycle(pending.conversation_key, lambda es: "requeued" in types(es))
    assert steps[-1]["agent_id"] == leaving.id
    assert steps[-1]["note"] == "agent went offline"

    statuses = await agent_steps(routing.broker, leaving.id, lambda es: len(es) >= 3)
    assert [s["agent_status"] for s in statuses] == ["offline", "available", "offline"]
