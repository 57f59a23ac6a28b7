"""Labels: the admin's list, agents, supervisors and the admin labeling conversations, the
step conversation.labeled on routing.v1, and labeling in the console's browser page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.routing.support import Agent, Routing, tag, types
from tests.routing.test_console_browser import WAIT, console_of, launched


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as browser:
        yield browser


async def _label(routing: Routing, name: str, description: str | None = None) -> dict[str, Any]:
    response = await routing.admin.post(
        "/admin/labels", json={"name": name, "description": description}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _held(routing: Routing, t: str) -> tuple[Agent, dict[str, Any]]:
    """An agent of the test's own skill holding one conversation of its own provider."""
    await routing.queue(providers=[t], required_skills=[t])
    agent = await routing.agent(skills=[t])
    await agent.status("available")
    written = await routing.customer_writes(provider=t)
    conversation = await agent.take(written.conversation_key)
    await agent.status("offline")
    return agent, conversation


def _labeled(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "conversation.labeled"]


async def test_the_admin_manages_the_label_list_and_nobody_else_does(routing: Routing) -> None:
    t = tag()
    complaint = await _label(routing, f"complaint-{t}", "The customer is unhappy")
    assert complaint["description"] == "The customer is unhappy"
    assert complaint["retired_at"] is None
    again = await routing.admin.post("/admin/labels", json={"name": f"complaint-{t}"})
    assert again.status_code == 409, again.text
    for bad in ("Complaint", "no spaces", "-leading", "x" * 65, ""):
        refused = await routing.admin.post("/admin/labels", json={"name": bad})
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["error"]
    changed = await routing.admin.patch(
        f"/admin/labels/complaint-{t}", json={"description": "Unhappy customer"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "Unhappy customer"
    listed = await routing.admin.get("/admin/labels")
    assert f"complaint-{t}" in [label["name"] for label in listed.json()]
    missing = await routing.admin.patch(f"/admin/labels/nothing-{t}", json={"description": "x"})
    assert missing.status_code == 404

    agent = await routing.agent()
    supervisor = await routing.agent(role="supervisor")
    for who in (agent, supervisor):
        create = await who.client.post("/admin/labels", json={"name": f"mine-{t}"})
        assert create.status_code == 401, create.text
        assert (await who.client.get("/admin/labels")).status_code == 401
        delete = await who.client.delete(f"/admin/labels/complaint-{t}")
        assert delete.status_code == 401
    async with httpx.AsyncClient(base_url=routing.url) as anonymous:
        assert (await anonymous.get("/admin/labels")).status_code == 401
        assert (await anonymous.get("/agent/labels")).status_code == 401
    # Agents read the list they can use.
    usable = await agent.client.get("/agent/labels")
    assert usable.status_code == 200
    assert f"complaint-{t}" in [label["name"] for label in usable.json()]

    unused = await _label(routing, f"unused-{t}")
    deleted = await routing.admin.delete(f"/admin/labels/{unused['name']}")
    assert deleted.status_code == 204
    listed = await routing.admin.get("/admin/labels")
    assert unused["name"] not in [label["name"] for label in listed.json()]


async def test_an_agent_labels_a_conversation_they_hold_and_routing_v1_says_so(
    routing: Routing,
) -> None:
    t = tag()
    complaint, billing = f"complaint-{t}", f"billing-{t}"
    await _label(routing, complaint)
    await _label(routing, billing)
    agent, conversation = await _held(routing, t)
    path = f"/agent/conversations/{conversation['id']}/labels"

    first = await agent.client.put(path, json={"labels": [complaint, billing, complaint]})
    assert first.status_code == 200, first.text
    assert first.json() == {
        "conversation_id": conversation["id"],
        "labels": sorted([billing, complaint]),
    }
    # The same set again changes and publishes nothing; then one label comes off.
    same = await agent.client.put(path, json={"labels": [billing, complaint]})
    assert same.status_code == 200
    assert same.json()["labels"] == sorted([billing, complaint])
    fewer = await agent.client.put(path, json={"labels": [billing]})
    assert fewer.json()["labels"] == [billing]

    key = conversation["conversation_key"]
    events = await routing.lifecycle(key, lambda es: len(_labeled(es)) >= 2, settle=1.0)
    labeled = _labeled(events)
    assert [e["labels"] for e in labeled] == [sorted([billing, complaint]), [billing]]
    for event in labeled:
        assert event["conversation_id"] == conversation["id"]
        assert event["agent_id"] == agent.id
        assert event["channel"] == "chat"
        assert event["queue"] == conversation["queue"]
    assert types(events).index("labeled") > types(events).index("accepted")
    stored = await routing.sql(
        "SELECT label, labeled_by FROM routing.conversation_label "
        "WHERE conversation_id = CAST(:c AS uuid)",
        c=conversation["id"],
    )
    assert [(r["label"], str(r["labeled_by"])) for r in stored] == [(billing, agent.id)]

    # The console's workspace shows them.
    workspace = (await agent.client.get("/agent/workspace")).json()
    (card,) = [c for c in workspace["conversations"] if c["id"] == conversation["id"]]
    assert card["labels"] == [billing]

    # Taking every label off is a set too: the empty one.
    none = await agent.client.put(path, json={"labels": []})
    assert none.json()["labels"] == []
    events = await routing.lifecycle(key, lambda es: len(_labeled(es)) >= 3)
    assert _labeled(events)[-1]["labels"] == []


async def test_labels_not_on_the_list_and_conversations_not_held_are_refused(
    routing: Routing,
) -> None:
    t = tag()
    complaint = f"complaint-{t}"
    await _label(routing, complaint)
    agent, conversation = await _held(routing, t)
    path = f"/agent/conversations/{conversation['id']}/labels"

    unknown = await agent.client.put(path, json={"labels": [complaint, f"nosuch-{t}"]})
    assert unknown.status_code == 400, unknown.text
    assert unknown.json()["detail"] == [f"nosuch-{t}"]
    malformed = await agent.client.put(path, json={"labels": ["Not A Slug"]})
    assert malformed.status_code == 422
    too_many = await agent.client.put(path, json={"labels": [f"l{i}" for i in range(21)]})
    assert too_many.status_code == 422
    assert (
        await routing.sql(
            "SELECT * FROM routing.conversation_label WHERE conversation_id = CAST(:c AS uuid)",
            c=conversation["id"],
        )
        == []
    )

    # Another agent does not see the conversation: not found, as for every agent action.
    other = await routing.agent()
    foreign = await other.client.put(path, json={"labels": [complaint]})
    assert foreign.status_code == 404, foreign.text
    # Nor may an agent use the supervisor's way in.
    sideways = await other.client.put(
        f"/supervisor/conversations/{conversation['id']}/labels", json={"labels": [complaint]}
    )
    assert sideways.status_code == 403, sideways.text
    missing = await agent.client.put(
        "/agent/conversations/00000000-0000-0000-0000-000000000000/labels",
        json={"labels": [complaint]},
    )
    assert missing.status_code == 404

    # A supervisor labels any conversation, and so does the admin.
    supervisor = await routing.agent(role="supervisor")
    by_supervisor = await supervisor.client.put(
        f"/supervisor/conversations/{conversation['id']}/labels", json={"labels": [complaint]}
    )
    assert by_supervisor.status_code == 200, by_supervisor.text
    by_admin = await routing.admin.put(
        f"/supervisor/conversations/{conversation['id']}/labels", json={"labels": []}
    )
    assert by_admin.status_code == 200, by_admin.text
    read = await routing.admin.get(f"/supervisor/conversations/{conversation['id']}/labels")
    assert read.json()["labels"] == []
    events = await routing.lifecycle(
        conversation["conversation_key"], lambda es: len(_labeled(es)) >= 2
    )
    by = [(e["labels"], e.get("agent_id")) for e in _labeled(events)]
    assert by == [([complaint], supervisor.id), ([], None)]


async def test_a_label_in_use_is_retired_not_deleted(routing: Routing) -> None:
    t = tag()
    old, new = f"old-{t}", f"new-{t}"
    await _label(routing, old)
    await _label(routing, new)
    agent, conversation = await _held(routing, t)
    path = f"/agent/conversations/{conversation['id']}/labels"
    assert (await agent.client.put(path, json={"labels": [old]})).status_code == 200

    retired = await routing.admin.delete(f"/admin/labels/{old}")
    assert retired.status_code == 200, retired.text
    assert retired.json()["retired_at"] is not None
    usable = [label["name"] for label in (await agent.client.get("/agent/labels")).json()]
    assert old not in usable
    assert new in usable
    # The conversation keeps it alongside a new one, but no conversation newly gets it.
    kept = await agent.client.put(path, json={"labels": [old, new]})
    assert kept.status_code == 200, kept.text
    assert kept.json()["labels"] == sorted([old, new])
    _, other = await _held(routing, f"{t}-b")
    refused = await routing.admin.put(
        f"/supervisor/conversations/{other['id']}/labels", json={"labels": [old]}
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == [old]
    # Brought back, it can be used again.
    back = await routing.admin.patch(f"/admin/labels/{old}", json={"retired": False})
    assert back.json()["retired_at"] is None
    again = await routing.admin.put(
        f"/supervisor/conversations/{other['id']}/labels", json={"labels": [old]}
    )
    assert again.status_code == 200, again.text


async def test_an_agent_labels_a_conversation_in_the_console(
    browser: Browser, routing: Routing
) -> None:
    t = tag()
    complaint, billing = f"complaint-{t}", f"billing-{t}"
    await _label(routing, complaint)
    await _label(routing, billing)
    agent, conversation = await _held(routing, t)

    context, page = await console_of(browser, routing, agent)
    try:
        card = page.locator(f'#conversations .conversation[data-id="{conversation["id"]}"]')
        await card.click()
        await page.locator("#labels-box summary").click()
        await page.locator(f'#label-choices input[value="{complaint}"]').check()
        chip = page.locator(f'#conv-labels .label-chip[data-label="{complaint}"]')
        await expect(chip).to_have_text(complaint, timeout=WAIT)
        await page.locator(f'#label-choices input[value="{billing}"]').check()
        await expect(page.locator("#conv-labels .label-chip")).to_have_count(2, timeout=WAIT)
        await page.locator(f'#label-choices input[value="{complaint}"]').uncheck()
        await expect(page.locator("#conv-labels .label-chip")).to_have_text([billing], timeout=WAIT)
        events = await routing.lifecycle(
            conversation["conversation_key"], lambda es: len(_labeled(es)) >= 3
        )
        assert [e["labels"] for e in _labeled(events)] == [
            [complaint],
            sorted([billing, complaint]),
            [billing],
        ]
        # A reload shows the labels the server keeps.
        await page.reload()
        await page.locator(f'#conversations .conversation[data-id="{conversation["id"]}"]').click()
        await expect(page.locator("#conv-labels .label-chip")).to_have_text([billing], timeout=WAIT)
        assert await page.locator("#conv-error").text_content() == ""
    finally:
        await context.close()
