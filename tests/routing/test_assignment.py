"""Who gets offered what: eligibility, sticky, least loaded, longest idle, queue order, overflow."""

from __future__ import annotations

from datetime import timedelta

from shared.events import Content, Customer
from tests.routing.support import Routing, eventually, tag, types


async def held_keys(routing: Routing, agent_id: str) -> set[str]:
    rows = await routing.sql(
        "SELECT conversation_key FROM routing.conversation WHERE agent_id = CAST(:a AS uuid)",
        a=agent_id,
    )
    return {r["conversation_key"] for r in rows}


async def test_longest_idle_agent_wins_a_tie(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    first_idle = await routing.agent(skills=[t])
    second_idle = await routing.agent(skills=[t])
    await first_idle.status("available")
    await second_idle.status("available")

    event = await routing.customer_writes(provider=t)

    offer = await first_idle.offer_for(event.conversation_key)
    assert offer["channel"] == "chat"
    assert await second_idle.offers() == []


async def test_least_loaded_agent_is_offered_next(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    # Load is relative to capacity: 2 of 6 is less loaded than 1 of 2.
    roomy = await routing.agent(skills=[t], capacity={"chat": 6})
    narrow = await routing.agent(skills=[t], capacity={"chat": 2})
    await narrow.status("available")
    await roomy.status("available")

    first = await routing.customer_writes(provider=t)
    await narrow.take(first.conversation_key)  # a tie at 0: narrow was idle longest
    second = await routing.customer_writes(provider=t)
    await roomy.take(second.conversation_key)  # 0/6 against 1/2
    third = await routing.customer_writes(provider=t)
    await roomy.take(third.conversation_key)  # 1/6 against 1/2
    fourth = await routing.customer_writes(provider=t)
    await roomy.take(fourth.conversation_key)  # 2/6 against 1/2

    assert await held_keys(routing, narrow.id) == {first.conversation_key}
    assert await held_keys(routing, roomy.id) == {
        second.conversation_key,
        third.conversation_key,
        fourth.conversation_key,
    }


async def test_the_customers_last_agent_is_sticky(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t])
    other = await routing.agent(skills=[t])
    regular = await routing.agent(skills=[t])
    await other.status("available")  # idle longest: wins every tie below
    await regular.status("available")
    customer = Customer(id=f"{t}@example.com", kind="email")

    first = await routing.customer_writes(provider=t, customer=customer)
    declined = await other.post(
        f"/agent/offers/{(await other.offer_for(first.conversation_key))['id']}/decline"
    )
    assert declined.status_code == 200, declined.text
    conversation = await regular.take(first.conversation_key)
    response = await regular.post(f"/agent/conversations/{conversation['id']}/resolve")
    assert response.status_code == 200, response.text

    again = await routing.customer_writes(provider=t, customer=customer)
    await regular.offer_for(again.conversation_key)
    stranger = await routing.customer_writes(provider=t)
    await other.offer_for(stranger.conversation_key)


async def test_only_agents_with_the_skills_and_language_are_offered(routing: Routing) -> None:
    t = tag()
    await routing.queue(providers=[t], required_skills=[t], language="fr")
    english_only = await routing.agent(skills=[t], languages=["en"])
    unskilled = await routing.agent(skills=["other"], languages=["fr"])
    full = await routing.agent(skills=[t], languages=["fr"], capacity={"chat": 0})
    qualified = await routing.agent(skills=[t, "extra"], languages=["en", "fr"])
    for agent in (english_only, unskilled, full, qualified):
        await agent.status("available")

    event = await routing.customer_writes(
        provider=t, content=Content(text="Bonjour, ma commande est en retard", language="fr")
    )

    await qualified.offer_for(event.conversation_key)
    for agent in (english_only, unskilled, full):
        assert await agent.offers() == []


async def test_queue_order_is_priority_then_sla_deadline_then_arrival(routing: Routing) -> None:
    t = tag()
    low, urgent, high = f"{t}-low", f"{t}-urgent", f"{t}-high"
    await routing.queue(providers=[low], required_skills=[t], priority=0, sla_seconds=600)
    await routing.queue(providers=[urgent], required_skills=[t], priority=0, sla_seconds=5)
    await routing.queue(providers=[high], required_skills=[t], priority=10, sla_seconds=3600)
    agent = await routing.agent(skills=[t], capacity={"chat": 1})

    arrivals = [
        await routing.customer_writes(provider=low),
        await routing.customer_writes(provider=urgent),
        await routing.customer_writes(provider=high),
    ]
    for event in arrivals:
        await routing.conversation_in(event.conversation_key, "queued")
    await agent.status("available")

    served = []
    for _ in arrivals:
        offer = (await eventually(agent.offers, what="the next offer"))[0]
        served.append(offer["conversation_key"])
        conversation = await agent.accept(offer)
        response = await agent.post(f"/agent/conversations/{conversation['id']}/resolve")
        assert response.status_code == 200, response.text

    low_key, urgent_key, high_key = (e.conversation_key for e in arrivals)
    assert served == [high_key, urgent_key, low_key]


async def test_overflow_drops_optional_skills_after_its_time(routing: Routing) -> None:
    t = tag()
    await routing.queue(
        providers=[t], required_skills=[t], optional_skills=[f"{t}-vip"], overflow_seconds=1
    )
    generalist = await routing.agent(skills=[t])
    await generalist.status("available")

    event = await routing.customer_writes(provider=t)

    await generalist.offer_for(event.conversation_key)
    conversation = await routing.conversation(event.conversation_key)
    assert conversation is not None
    assert conversation["optional_skills_dropped"] is True
    (offer,) = await routing.sql(
        "SELECT offered_at FROM routing.offer WHERE conversation_id = :c",
        c=conversation["id"],
    )
    assert offer["offered_at"] >= conversation["queued_at"] + timedelta(seconds=1)


async def test_overflow_moves_a_waiting_conversation_to_its_overflow_queue(
    routing: Routing,
) -> None:
    t = tag()
    backup = await routing.queue(providers=[f"{t}-none"], required_skills=[f"{t}-backup"])
    first = await routing.queue(
        providers=[t], required_skills=[t], overflow_seconds=1, overflow_queue=backup["name"]
    )
    helper = await routing.agent(skills=[f"{t}-backup"])
    await helper.status("available")

    event = await routing.customer_writes(provider=t)

    await helper.offer_for(event.conversation_key)
    steps = await routing.lifecycle(event.conversation_key, lambda es: "offered" in types(es))
    queued = [e for e in steps if e["type"] == "conversation.queued"]
    assert [q["queue"] for q in queued] == [first["name"], backup["name"]]
    assert queued[1]["note"] == f"overflow from {first['name']}"
    assert types(steps) == ["opened", "queued", "queued", "offered"]


async def test_a_full_queue_sends_newcomers_to_its_overflow_queue(routing: Routing) -> None:
    t = tag()
    spill = await routing.queue(providers=[f"{t}-none"], required_skills=[f"{t}-spill"])
    small = await routing.queue(
        providers=[t], required_skills=[t], max_waiting=1, overflow_queue=spill["name"]
    )

    first = await routing.customer_writes(provider=t)
    await routing.conversation_in(first.conversation_key, "queued")
    second = await routing.customer_writes(provider=t)

    async def placed() -> dict[str, object] | None:
        row = await routing.conversation(second.conversation_key)
        return row if row is not None and row["queue_name"] is not None else None

    assert (await eventually(placed, what="placement"))["queue_name"] == spill["name"]
    assert (await routing.conversation(first.conversation_key) or {})["queue_name"] == small["name"]
