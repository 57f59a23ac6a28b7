"""Surveys customers receive: the question after a resolve, and an answer by reply."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared.events import INTERACTIONS_TOPIC, EventType, event_id_for
from tests.routing.support import Agent, Routing, tag, types
from tests.support.kafka import read_topic, values

LINK_BASE = "https://survey.example.com/rate"
ROUTING_SETTINGS = {"survey_link_base": LINK_BASE}


async def _interactions(
    routing: Routing, key: str, until: Any, settle: float = 0.0
) -> list[dict[str, Any]]:
    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [v for v in values(records) if v.get("conversation_key") == key]

    records = await read_topic(
        routing.broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: until(mine(rs)),
        timeout=30,
        settle=settle,
    )
    return mine(records)


def _of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


async def _resolved(routing: Routing, agent: Agent, t: str) -> tuple[str, str]:
    event = await routing.customer_writes(provider=t)
    conversation = await agent.take(event.conversation_key)
    response = await agent.post(f"/agent/conversations/{conversation['id']}/resolve")
    assert response.status_code == 200, response.text
    return event.conversation_key, conversation["id"]


async def test_the_question_goes_out_with_a_signed_link_and_a_number_answers_it(
    routing: Routing,
) -> None:
    t = tag()
    await routing.queue(
        providers=[t],
        required_skills=[t],
        survey_kind="csat",
        survey_message="How did we do? Reply 1 to 5, or rate us at {link}",
    )
    agent = await routing.agent(skills=[t])
    await agent.status("available")
    key, _ = await _resolved(routing, agent, t)

    steps = await routing.lifecycle(key, lambda es: "resolved" in types(es))
    token = next(s for s in steps if s["type"] == "conversation.resolved")["survey_tokens"]["csat"]
    sent = _of(
        await _interactions(routing, key, lambda es: _of(es, "message.sent")), "message.sent"
    )
    assert len(sent) == 1
    question = sent[0]
    assert question["automated"] is True
    assert "agent_id" not in question
    assert question["provider_meta"]["survey_kind"] == "csat"
    text = question["content"]["text"]
    assert text.startswith("How did we do? Reply 1 to 5, or rate us at https://survey.example.com/")
    link = urlsplit(text.rsplit(" ", 1)[1])
    assert f"{link.scheme}://{link.netloc}{link.path}" == LINK_BASE
    assert parse_qs(link.query)["token"] == [token]

    # "4." is the answer: a survey.response, and the conversation stays resolved.
    await routing.customer_writes(provider=t, conversation_key=key, content={"text": " 4. "})
    events = await _interactions(routing, key, lambda es: _of(es, "survey.response"), settle=1.0)
    answers = _of(events, "survey.response")
    assert len(answers) == 1
    answer = answers[0]
    assert answer["survey"] == {"kind": "csat", "score": 4}
    assert answer["provider"] == "switchboard-survey"
    # The id an answer through metrics' POST /surveys would take: either way it counts once.
    expected_id = event_id_for("switchboard-survey", f"{key}\x1fcsat", EventType.SURVEY_RESPONSE)
    assert answer["event_id"] == str(expected_id)
    row = await routing.conversation(key)
    assert row is not None
    assert row["status"] == "resolved"

    # Once answered, a number is an ordinary message again: it reopens the conversation.
    await routing.customer_writes(provider=t, conversation_key=key, content={"text": "5"})
    await routing.conversation_in(key, "queued", "offered")
    await agent.status("offline")


async def test_a_number_off_the_scale_or_without_a_question_is_a_message(routing: Routing) -> None:
    t = tag()
    await routing.queue(
        providers=[t], required_skills=[t], survey_kind="nps", survey_message="0-10?"
    )
    agent = await routing.agent(skills=[t])
    await agent.status("available")
    key, _ = await _resolved(routing, agent, t)
    await _interactions(routing, key, lambda es: _of(es, "message.sent"))

    await routing.customer_writes(provider=t, conversation_key=key, content={"text": "11"})
    await routing.conversation_in(key, "queued", "offered", "assigned")
    events = await _interactions(routing, key, lambda es: True, settle=1.0)
    assert _of(events, "survey.response") == []

    # A queue without a survey sends no question.
    plain = tag()
    await routing.queue(providers=[plain], required_skills=[t])
    other, _ = await _resolved(routing, agent, plain)
    events = await _interactions(routing, other, lambda es: True, settle=1.0)
    assert _of(events, "message.sent") == []
    await agent.status("offline")


async def test_erasing_the_customer_withdraws_their_survey_question(routing: Routing) -> None:
    t = tag()
    await routing.queue(
        providers=[t], required_skills=[t], survey_kind="csat", survey_message="1-5? {link}"
    )
    agent = await routing.agent(skills=[t])
    await agent.status("available")
    key, conversation_id = await _resolved(routing, agent, t)
    await agent.status("offline")
    asked = (
        "SELECT count(*) AS n FROM routing.survey_question WHERE conversation_id = CAST(:c AS uuid)"
    )
    assert (await routing.sql(asked, c=conversation_id))[0]["n"] == 1

    row = await routing.conversation(key)
    assert row is not None
    erased = await routing.admin.post(f"/admin/contacts/{row['contact_id']}/erase")
    assert erased.status_code == 202, erased.text
    assert (await routing.sql(asked, c=conversation_id))[0]["n"] == 0
    left = await routing.sql(
        "SELECT count(*) AS n FROM routing.survey_question WHERE conversation_key = :k", k=key
    )
    assert left[0]["n"] == 0
