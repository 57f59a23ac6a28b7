"""Business hours: one automatic reply to a conversation opened while its queue is closed."""

from __future__ import annotations

from typing import Any

from shared.events import INTERACTIONS_TOPIC, event_id_for
from tests.routing.support import Routing, eventually, tag
from tests.support.kafka import read_topic, values

ALWAYS = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


async def _sent(
    routing: Routing, key: str, until: Any, settle: float = 0.0
) -> list[dict[str, Any]]:
    """The message.sent events of conversation ``key`` on interactions.v1."""

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [
            v
            for v in values(records)
            if v.get("conversation_key") == key and v.get("type") == "message.sent"
        ]

    records = await read_topic(
        routing.broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: until(mine(rs)),
        timeout=30,
        settle=settle,
    )
    return mine(records)


async def test_a_conversation_opened_while_closed_gets_one_automatic_reply(
    routing: Routing,
) -> None:
    t = tag()
    closed = {"time_zone": "Europe/Paris", "hours": {}, "holidays": ["2026-12-25"]}
    queue = await routing.queue(
        providers=[t],
        required_skills=[t],
        schedule=closed,
        closed_message="We are closed; we answer from 9:00.",
    )
    assert queue["schedule"]["holidays"] == ["2026-12-25"]

    first = await routing.customer_writes(provider=t)
    key = first.conversation_key
    await routing.conversation_in(key, "queued")
    await routing.customer_writes(provider=t, conversation_key=key)

    sent = await _sent(routing, key, lambda found: len(found) >= 1, settle=2.0)
    assert len(sent) == 1
    reply = sent[0]
    assert reply["automated"] is True
    assert reply["direction"] == "outbound"
    assert "agent_id" not in reply
    assert reply["content"]["text"] == "We are closed; we answer from 9:00."
    assert reply["provider"] == t
    # Its id derives from its reply id, as an agent's: the connectors deliver it the same way.
    assert reply["event_id"] == str(event_id_for("routing", reply["raw_ref"], "message.sent"))

    rows = await routing.sql(
        "SELECT author, text, status FROM routing.message WHERE conversation_key = :k ORDER BY seq",
        k=key,
    )
    assert [(r["author"], r["status"]) for r in rows] == [
        ("customer", None),
        ("auto_reply", "pending"),
        ("customer", None),
    ]

    steps = await routing.lifecycle(
        key, lambda es: any(e["type"] == "conversation.out_of_hours" for e in es)
    )
    queued = next(e for e in steps if e["type"] == "conversation.queued")
    assert queued["queue_schedule"] == closed
    # The opening is announced once, with what the customer was told.
    [closed_step] = [e for e in steps if e["type"] == "conversation.out_of_hours"]
    assert closed_step["closed_message"] == "We are closed; we answer from 9:00."
    assert closed_step["queue"] == queue["name"]


async def test_an_open_queue_sends_nothing_and_a_bad_schedule_is_refused(routing: Routing) -> None:
    t = tag()
    await routing.queue(
        providers=[t],
        required_skills=[t],
        schedule={"time_zone": "UTC", "hours": ALWAYS},
        closed_message="closed",
    )
    event = await routing.customer_writes(provider=t)
    await routing.conversation_in(event.conversation_key, "queued")
    sent = await _sent(routing, event.conversation_key, lambda found: True, settle=2.0)
    assert sent == []
    steps = await routing.lifecycle(event.conversation_key, lambda es: bool(es))
    assert "conversation.out_of_hours" not in [e["type"] for e in steps]

    for schedule in (
        {"time_zone": "Nowhere/City", "hours": {}},
        {"time_zone": "UTC", "hours": {"mon": [["17:00", "09:00"]]}},
        {"time_zone": "UTC", "hours": {}, "holidays": ["2026-02-30"]},
    ):
        response = await routing.admin.post(
            "/admin/queues", json={"name": f"q-{tag()}", "channel": "chat", "schedule": schedule}
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]

    async def row() -> list[dict[str, Any]]:
        return await routing.sql(
            "SELECT count(*) AS n FROM routing.message WHERE conversation_key = :k",
            k=event.conversation_key,
        )

    assert (await eventually(row))[0]["n"] == 1
