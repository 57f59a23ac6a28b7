"""The console's API against a running routing service: sign-in links, session cookies and
their origin check, internal notes, canned responses and the supervisor's view and actions."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import httpx

from shared.events import INTERACTIONS_TOPIC
from tests.routing.console_support import (
    COOKIE,
    browser_client,
    exchange,
    json_of,
    session_cookie,
    signed_in,
    signin_url,
    token_of,
)
from tests.routing.support import Routing, eventually, tag
from tests.support.kafka import read_topic, values


async def test_the_console_page_forbids_inline_script_and_serves_only_its_files(
    routing: Routing,
) -> None:
    async with httpx.AsyncClient(base_url=routing.url) as client:
        page = await client.get("/console/")
        assert page.status_code == 200
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "onclick" not in page.text
        assert "<script>" not in page.text
        script = await client.get("/console/agent.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert (await client.get("/console/..%2Fsettings.py")).status_code == 404
        assert (await client.get("/console/index.html")).status_code == 404
        assert (await client.get("/console", follow_redirects=False)).status_code == 308


async def test_a_signin_link_works_once_and_is_kept_only_hashed(routing: Routing) -> None:
    agent = await routing.agent()
    url = await signin_url(routing, agent.id)
    token = token_of(url)
    stored = await routing.sql(
        "SELECT token_hash, used_at FROM routing.signin_link WHERE agent_id = :a",
        a=uuid.UUID(agent.id),
    )
    assert stored == [{"token_hash": hashlib.sha256(token.encode()).hexdigest(), "used_at": None}]

    async with browser_client(routing) as browser, browser_client(routing) as other:
        answer = await exchange(browser, token)
        assert json_of(answer, 201)["agent"]["id"] == agent.id
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # plain http here; https origins get Secure
        assert json_of(await browser.get("/agent/me"))["id"] == agent.id
        # The stream and every agent endpoint take the cookie in place of the bearer token.
        assert (await browser.get("/agent/workspace")).status_code == 200

        again = await exchange(other, token)
        assert again.status_code == 401, again.text
        assert COOKIE not in other.cookies
        assert (await other.get("/agent/me")).status_code == 401


async def test_two_exchanges_of_one_link_at_once_open_one_session(routing: Routing) -> None:
    agent = await routing.agent()
    token = token_of(await signin_url(routing, agent.id))
    clients = [browser_client(routing) for _ in range(6)]
    try:
        answers = await asyncio.gather(*(exchange(c, token) for c in clients))
    finally:
        for client in clients:
            await client.aclose()
    assert sorted(a.status_code for a in answers) == [201] + [401] * 5
    sessions = await routing.sql(
        "SELECT count(*) AS n FROM routing.console_session WHERE agent_id = :a",
        a=uuid.UUID(agent.id),
    )
    assert sessions == [{"n": 1}]


async def test_an_expired_or_unknown_link_is_refused(routing: Routing) -> None:
    agent = await routing.agent()
    token = token_of(await signin_url(routing, agent.id))
    await routing.sql(
        "UPDATE routing.signin_link SET expires_at = now() - interval '1 second' "
        "WHERE agent_id = :a RETURNING token_hash",
        a=uuid.UUID(agent.id),
    )
    async with browser_client(routing) as browser:
        assert (await exchange(browser, token)).status_code == 401
        assert (await exchange(browser, "x" * 43)).status_code == 401
        assert (await exchange(browser, "short")).status_code == 422


async def test_signin_links_are_the_admins_to_make(routing: Routing) -> None:
    agent = await routing.agent()
    response = await agent.client.post(f"/admin/agents/{agent.id}/signin-link")
    assert response.status_code == 401
    missing = await routing.admin.post(f"/admin/agents/{uuid.uuid4()}/signin-link")
    assert missing.status_code == 404


async def test_signing_out_revokes_the_session_on_the_server(routing: Routing) -> None:
    agent = await routing.agent()
    browser = await signed_in(routing, agent.id)
    try:
        session_id = browser.cookies[COOKIE]
        assert (await browser.delete("/console/session")).status_code == 204
        assert COOKIE not in browser.cookies
    finally:
        await browser.aclose()
    # The old cookie, replayed (say, copied before sign-out), opens nothing.
    async with browser_client(routing) as replay:
        replay.cookies.set(COOKIE, session_id)
        assert (await replay.get("/agent/me")).status_code == 401
        assert (await replay.get("/agent/stream")).status_code == 401


async def test_a_cookie_request_that_changes_state_must_come_from_the_console(
    routing: Routing,
) -> None:
    agent = await routing.agent()
    session_id = await session_cookie(routing, agent.id)

    def with_cookie(origin: str | None) -> httpx.AsyncClient:
        headers = {"Origin": origin} if origin is not None else {}
        client = httpx.AsyncClient(base_url=routing.url, headers=headers)
        client.cookies.set(COOKIE, session_id)
        return client

    async with (
        with_cookie("https://attacker.example") as forged,
        with_cookie(None) as bare,
        with_cookie(routing.url) as console,
    ):
        for client in (forged, bare):
            refused = await client.put("/agent/status", json={"status": "available"})
            assert refused.status_code == 403, refused.text
            # Reading needs no Origin (the cookie is SameSite=Strict already).
            assert (await client.get("/agent/me")).status_code == 200
        assert json_of(await console.get("/agent/me"))["status"] == "offline"
        changed = await console.put("/agent/status", json={"status": "away"})
        assert json_of(changed)["status"] == "away"
    # A sign-in from another site is refused too (no login CSRF).
    async with browser_client(routing, origin="https://attacker.example") as forged:
        token = token_of(await signin_url(routing, agent.id))
        assert (await exchange(forged, token)).status_code == 403


async def test_a_bearer_token_still_works_and_wins_over_a_cookie(routing: Routing) -> None:
    first, second = await routing.agent(), await routing.agent()
    session_id = await session_cookie(routing, first.id)
    second.client.cookies.set(COOKIE, session_id)
    try:
        assert json_of(await second.client.get("/agent/me"))["id"] == second.id
    finally:
        second.client.cookies.clear()


async def test_notes_stay_inside_and_are_not_replies(routing: Routing) -> None:
    t = tag()
    provider = f"note-{t}"
    await routing.queue(providers=[provider], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    event = await routing.customer_writes(provider=provider)
    key = event.conversation_key
    conversation_id = (await agent.take(key))["id"]
    secret = f"Customer seems upset, check refund {t}"
    note = json_of(
        await agent.post(f"/agent/conversations/{conversation_id}/notes", {"text": secret}), 201
    )
    assert note["author"] == "note"
    assert note["direction"] == "internal"
    assert note["status"] is None

    transcript = json_of(await agent.client.get(f"/agent/conversations/{conversation_id}/messages"))
    assert [m["author"] for m in transcript["messages"]] == ["customer", "note"]
    row = await routing.conversation(key)
    assert row is not None
    assert row["first_reply_at"] is None

    # A reply after it is published; the note never is, on either topic.
    reply = json_of(
        await agent.post(f"/agent/conversations/{conversation_id}/reply", {"text": "On it!"}), 202
    )
    records = await read_topic(
        routing.broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(v.get("event_id") == reply["event_id"] for v in values(rs)),
    )
    published = [v for v in values(records) if v.get("conversation_key") == key]
    assert [v["type"] for v in published] == ["message.received", "message.sent"]
    assert all(secret not in str(v) for v in published)
    steps = await routing.lifecycle(key, lambda es: any("first_reply" in e["type"] for e in es))
    assert all(secret not in str(e) for e in steps)
    assert sum("first_reply" in e["type"] for e in steps) == 1


async def test_only_who_sees_a_conversation_writes_notes_in_it(routing: Routing) -> None:
    t = tag()
    provider = f"note-{t}"
    await routing.queue(providers=[provider], required_skills=[t])
    holder = await routing.agent(skills=[t], status="available")
    stranger = await routing.agent()
    event = await routing.customer_writes(provider=provider)
    conversation_id = (await holder.take(event.conversation_key))["id"]
    path = f"/agent/conversations/{conversation_id}/notes"
    assert (await stranger.post(path, {"text": "hi"})).status_code == 404
    assert (await holder.post(path, {"text": ""})).status_code == 422
    assert (
        await holder.post(f"/agent/conversations/{uuid.uuid4()}/notes", {"text": "x"})
    ).status_code == 404


async def test_canned_responses_per_queue(routing: Routing) -> None:
    # Queues of their own provider and skill: an open queue would take other tests' chats.
    t = tag()
    queue = (await routing.queue(providers=[t], required_skills=[t]))["name"]
    other = (await routing.queue(providers=[t], required_skills=[t]))["name"]
    mine = json_of(
        await routing.admin.post(
            "/admin/canned-responses",
            json={
                "queue": queue,
                "shortcut": f"refund-{tag()}",
                "text": "Your refund is on its way.",
            },
        ),
        201,
    )
    everyone = json_of(
        await routing.admin.post(
            "/admin/canned-responses", json={"shortcut": f"hello-{tag()}", "text": "Hello!"}
        ),
        201,
    )
    theirs = json_of(
        await routing.admin.post(
            "/admin/canned-responses", json={"queue": other, "shortcut": "x", "text": "Other."}
        ),
        201,
    )
    assert mine["queue"] == queue
    assert everyone["queue"] is None

    listed = json_of(await routing.admin.get("/admin/canned-responses", params={"queue": queue}))
    ids = {c["id"] for c in listed}
    assert {mine["id"], everyone["id"]} <= ids
    assert theirs["id"] not in ids

    changed = json_of(
        await routing.admin.patch(
            f"/admin/canned-responses/{mine['id']}",
            json={"text": "Refunded today.", "queue": other},
        )
    )
    assert changed["text"] == "Refunded today."
    assert changed["queue"] == other

    agent = await routing.agent()
    seen = {c["id"]: c for c in json_of(await agent.client.get("/agent/canned-responses"))}
    assert seen[mine["id"]]["text"] == "Refunded today."
    assert (
        await agent.client.post("/admin/canned-responses", json={"shortcut": "a", "text": "b"})
    ).status_code == 401

    assert (await routing.admin.delete(f"/admin/canned-responses/{mine['id']}")).status_code == 204
    assert (await routing.admin.delete(f"/admin/canned-responses/{mine['id']}")).status_code == 404
    missing_queue = await routing.admin.post(
        "/admin/canned-responses", json={"queue": "no-such-queue", "shortcut": "a", "text": "b"}
    )
    assert missing_queue.status_code == 404
    bad = await routing.admin.post("/admin/canned-responses", json={"shortcut": "a b", "text": "b"})
    assert bad.status_code == 422
    null_text = await routing.admin.patch(
        f"/admin/canned-responses/{everyone['id']}", json={"text": None}
    )
    assert null_text.status_code == 422
    anywhere = await routing.admin.patch(
        f"/admin/canned-responses/{theirs['id']}", json={"queue": None}
    )
    assert json_of(anywhere)["queue"] is None


async def test_a_supervisor_offers_a_waiting_conversation_and_sets_an_agent_away(
    routing: Routing,
) -> None:
    t = tag()
    provider = f"sup-{t}"
    queue = (await routing.queue(providers=[provider], required_skills=[t]))["name"]
    event = await routing.customer_writes(provider=provider)
    key = event.conversation_key
    await routing.conversation_in(key, "queued")

    async def queue_row() -> dict[str, object]:
        view = json_of(await routing.admin.get("/supervisor/view"))
        row: dict[str, object] = next(q for q in view["queues"] if q["name"] == queue)
        return row

    assert (await queue_row())["waiting"] == 1
    view = json_of(await routing.admin.get("/supervisor/view"))
    waiting = next(w for w in view["waiting"] if w["queue"] == queue)
    # No agent has the queue's skill: the matcher would never offer it; a supervisor can.
    chosen = await routing.agent(status="available")
    busy = await routing.agent(status="away")
    path = f"/supervisor/conversations/{waiting['id']}/offer"
    refused = await routing.admin.post(path, json={"agent_id": busy.id})
    assert refused.status_code == 409, refused.text
    json_of(await routing.admin.post(path, json={"agent_id": chosen.id, "note": "VIP"}))
    offer = await chosen.offer_for(key)
    assert offer["note"] == "VIP"
    assert (await queue_row())["offered"] == 1
    again = await routing.admin.post(path, json={"agent_id": chosen.id})
    assert again.status_code == 409

    loads = {a["id"]: a for a in json_of(await routing.admin.get("/supervisor/view"))["agents"]}
    assert loads[chosen.id]["load"] == {"chat": 1}

    # Set away: the pending offer goes back to the queue at once.
    away = json_of(
        await routing.admin.put(f"/supervisor/agents/{chosen.id}/status", json={"status": "away"})
    )
    assert away["status"] == "away"
    await eventually(lambda: _waiting(routing, queue), what="the conversation back in its queue")
    bad = await routing.admin.put(
        f"/supervisor/agents/{chosen.id}/status", json={"status": "available"}
    )
    assert bad.status_code == 422
    agent_call = await chosen.client.get("/supervisor/view")
    assert agent_call.status_code == 403


async def test_a_supervisor_signed_into_the_console_reads_the_supervisor_view(
    routing: Routing,
) -> None:
    boss = await routing.agent(role="supervisor")
    worker = await routing.agent()
    async with browser_client(routing) as browser:
        browser.cookies.set(COOKIE, await session_cookie(routing, boss.id))
        view = json_of(await browser.get("/supervisor/view"))
        assert {a["id"] for a in view["agents"]} >= {boss.id, worker.id}
        away = await browser.put(f"/supervisor/agents/{worker.id}/status", json={"status": "away"})
        assert json_of(away)["status"] == "away"
    async with browser_client(routing) as browser:
        browser.cookies.set(COOKIE, await session_cookie(routing, worker.id))
        assert (await browser.get("/supervisor/view")).status_code == 403
    async with browser_client(routing, origin="https://attacker.example") as forged:
        forged.cookies.set(COOKIE, await session_cookie(routing, boss.id))
        refused = await forged.put(
            f"/supervisor/agents/{worker.id}/status", json={"status": "offline"}
        )
        assert refused.status_code == 403


async def _waiting(routing: Routing, queue: str) -> bool:
    view = json_of(await routing.admin.get("/supervisor/view"))
    return bool(next(q for q in view["queues"] if q["name"] == queue)["waiting"] == 1)


async def test_erasing_the_customer_blanks_the_notes_about_them(routing: Routing) -> None:
    t = tag()
    provider = f"note-{t}"
    await routing.queue(providers=[provider], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    event = await routing.customer_writes(provider=provider)
    conversation = await agent.take(event.conversation_key)
    about = f"Customer Zelda {t} asked to be called back on +4915112345678"
    path = f"/agent/conversations/{conversation['id']}/notes"
    json_of(await agent.post(path, {"text": about}), 201)
    assert conversation["contact_id"] is not None
    erased = await routing.admin.post(f"/admin/contacts/{conversation['contact_id']}/erase")
    assert erased.status_code == 202, erased.text
    notes = await routing.sql(
        "SELECT text FROM routing.message WHERE conversation_id = :c AND author = 'note'",
        c=uuid.UUID(conversation["id"]),
    )
    assert notes == [{"text": None}]
