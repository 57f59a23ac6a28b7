"""Customer events from a CRM: the signed webhook, the CSV import, how they join contacts,
and the contact on routing's own steps (merge, split, every conversation step)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.routing.customers.endpoints import webhook_configured
from services.routing.settings import RoutingSettings
from shared.errors import NotFound
from shared.events import (
    CUSTOMERS_TOPIC,
    PRIVACY_TOPIC,
    ROUTING_TOPIC,
    Channel,
    Customer,
    CustomerEvent,
    CustomerEventType,
    customer_event_id,
)
from tests.routing.support import ADMIN_TOKEN, Routing, tag
from tests.support.kafka import read_topic, values
from tests.support.readme import shell_blocks
from tests.support.webhooks import standard_signed

#: The default key's secret: the one docs/routing.md's example signs with.
SECRET = "crm-dev-secret-change-it"
#: Another partner's key, as Standard Webhooks write them.
OTHER_SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
#: The key "default" posts any source but "otherco", which is the key "other"'s alone.
ROUTING_SETTINGS = {
    "generic_secret": SECRET,
    "generic_sources": json.dumps({"other": {"secret": OTHER_SECRET, "sources": ["otherco"]}}),
}


async def post_events(
    routing: Routing,
    body: Any,
    *,
    secret: str = SECRET,
    webhook_id: str | None = None,
    at: datetime | None = None,
) -> httpx.Response:
    raw = json.dumps(body).encode()
    async with httpx.AsyncClient(base_url=routing.url) as client:
        return await client.post(
            "/customers/events",
            content=raw,
            headers=standard_signed(secret, raw, webhook_id=webhook_id, at=at),
        )


async def contact_of(routing: Routing, key: str) -> str:
    row = await routing.conversation_in(key, "queued", "offered", "assigned")
    return str(row["contact_id"])


async def verified_email_contact(routing: Routing, t: str, email: str) -> tuple[str, str]:
    """A contact made by a DKIM-verified email from ``email``: its id and conversation key."""
    event = await routing.customer_writes(
        provider=f"{t}-mail",
        channel=Channel.EMAIL,
        customer=Customer(id=email, kind="email", verified=True),
    )
    return await contact_of(routing, event.conversation_key), event.conversation_key


async def customer_events(
    routing: Routing, source: str, count: int, *, settle: float = 0.0
) -> list[dict[str, Any]]:
    """The customers.v1 events of ``source``, once there are ``count`` of them."""

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [v for v in values(records) if v.get("source") == source]

    records = await read_topic(
        routing.broker,
        CUSTOMERS_TOPIC,
        until=lambda rs: len(mine(rs)) >= count,
        timeout=30,
        settle=settle,
    )
    return mine(records)


async def routing_steps(routing: Routing, until: Any) -> list[dict[str, Any]]:
    records = await read_topic(routing.broker, ROUTING_TOPIC, until=lambda rs: until(values(rs)))
    return values(records)


def event(source: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"evt-{uuid.uuid4().hex[:12]}",
        "source": source,
        "type": "activated",
        "occurred_at": "2026-11-30T09:15:00Z",
        **fields,
    }


async def test_a_signed_order_joins_the_verified_email_contact_and_steps_carry_it(
    routing: Routing,
) -> None:
    t = tag()
    source = f"shop-{t}"
    email = f"ada-{t}@example.com"
    contact, key = await verified_email_contact(routing, t, email)

    order = event(
        source,
        type="order_placed",
        email=f"  {email.upper()} ",
        external_id=f"cus-{t}",
        order_id="ord-7",
        amount="49.90",
        currency="eur",
    )
    response = await post_events(routing, order)
    assert response.status_code == 202, response.text
    (taken,) = response.json()["events"]
    assert taken["status"] == "accepted"
    assert taken["contact_id"] == contact
    wanted_id = customer_event_id(source, order["id"], CustomerEventType.ORDER_PLACED)
    assert taken["event_id"] == str(wanted_id)

    # The external id now finds the contact on its own.
    churn = event(source, type="customer.churned", external_id=f"cus-{t}", reason="too dear")
    response = await post_events(routing, [churn])
    assert response.status_code == 202, response.text
    assert response.json()["events"][0]["contact_id"] == contact

    published = await customer_events(routing, source, 2)
    by_type = {e["type"]: CustomerEvent.model_validate(e) for e in published}
    placed = by_type["customer.order_placed"]
    assert placed.event_id == wanted_id
    assert str(placed.contact_id) == contact
    assert (str(placed.amount), placed.currency, placed.order_id) == ("49.90", "EUR", "ord-7")
    assert placed.external_id == f"cus-{t}"
    assert placed.occurred_at == datetime(2026, 11, 30, 9, 15, tzinfo=UTC)
    churned = by_type["customer.churned"]
    assert (str(churned.contact_id), churned.reason) == (contact, "too dear")
    records = await read_topic(
        routing.broker,
        CUSTOMERS_TOPIC,
        until=lambda rs: any(json.loads(r.value)["event_id"] == str(wanted_id) for r in rs),
    )
    (record,) = [r for r in records if json.loads(r.value)["event_id"] == str(wanted_id)]
    assert record.key == contact.encode()

    card = (await routing.admin.get(f"/admin/contacts/{contact}")).json()
    identities = {(i["namespace"], i["value"], i["verified"]) for i in card["identities"]}
    assert identities == {("email", email, True), (f"crm:{source}", f"cus-{t}", True)}

    # Routing's own steps of the contact's conversation name the contact
    # (a conversation no queue takes is only opened).
    steps = await routing.lifecycle(
        key, lambda es: any(e["type"] == "conversation.opened" for e in es)
    )
    assert steps
    assert {e.get("contact_id") for e in steps} == {contact}


async def test_signatures_sources_and_bodies_are_checked(routing: Routing) -> None:
    t = tag()
    source = f"shop-{t}"
    good = event(source, email=f"bo-{t}@example.com")
    wrong_key = await post_events(
        routing, good, secret="whsec_" + base64.b64encode(b"x" * 32).decode()
    )
    assert wrong_key.status_code == 401, wrong_key.text
    stale = await post_events(routing, good, at=datetime.now(UTC) - timedelta(minutes=6))
    assert stale.status_code == 401
    assert "timestamp" in stale.json()["message"]
    async with httpx.AsyncClient(base_url=routing.url) as client:
        unsigned = await client.post("/customers/events", json=good)
    assert unsigned.status_code == 401

    # Each key posts its own sources only.
    taken_source = await post_events(routing, event("otherco", email=f"bo-{t}@example.com"))
    assert taken_source.status_code == 403, taken_source.text
    other = await post_events(
        routing, event("otherco", email=f"bo-{t}@example.com"), secret=OTHER_SECRET
    )
    assert other.status_code == 202, other.text

    bad = await post_events(routing, event(source, type="upgraded", phone="0123"))
    assert bad.status_code == 400
    fields = {p["field"] for p in bad.json()["detail"]}
    assert {"type", "phone"} <= fields
    too_early = await post_events(
        routing, event(source, email="x@y.example", occurred_at="0001-01-01T00:00:00+14:00")
    )
    assert too_early.status_code == 400, too_early.text
    unpriced = await post_events(routing, event(source, type="order_placed", email="x@y.example"))
    assert unpriced.status_code == 400
    assert (await post_events(routing, [])).status_code == 400

    # All or nothing: an external id no event introduced refuses the whole request.
    fine = event(source, email=f"cy-{t}@example.com")
    unknown = event(source, external_id=f"nobody-{t}")
    refused = await post_events(routing, [fine, unknown])
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == {"index": 1, "id": unknown["id"]}
    rows = await routing.sql(
        "SELECT count(*) AS n FROM routing.customer_event WHERE source = :s", s=source
    )
    assert rows == [{"n": 0}]


async def test_a_replayed_delivery_and_a_resent_event_publish_once(routing: Routing) -> None:
    t = tag()
    source = f"shop-{t}"
    activated = event(source, email=f"di-{t}@example.com")
    webhook_id = f"msg_{t}"
    first = await post_events(routing, activated, webhook_id=webhook_id)
    assert first.status_code == 202, first.text
    replay = await post_events(routing, activated, webhook_id=webhook_id)
    assert replay.status_code == 202
    assert replay.json()["duplicate"] is True
    assert replay.json()["events"][0]["event_id"] == first.json()["events"][0]["event_id"]
    # The CRM sends the same event again in a new delivery: the same id, nothing new.
    resent = await post_events(routing, activated)
    assert resent.json()["duplicate"] is False
    (again,) = resent.json()["events"]
    assert again["status"] == "duplicate"
    assert again["event_id"] == first.json()["events"][0]["event_id"]
    assert again["contact_id"] == first.json()["events"][0]["contact_id"]
    # The same id for another type names another event: refused.
    retyped = await post_events(routing, {**activated, "type": "churned"})
    assert retyped.status_code == 409, retyped.text
    # Another body under a handled webhook-id is refused too.
    other_body = await post_events(
        routing, event(source, email="x@y.example"), webhook_id=webhook_id
    )
    assert other_body.status_code == 409

    published = await customer_events(routing, source, 1, settle=2.0)
    assert len(published) == 1


async def test_an_address_typed_into_a_chat_is_not_joined(routing: Routing) -> None:
    t = tag()
    source = f"shop-{t}"
    email = f"eve-{t}@example.com"
    typed = await routing.customer_writes(
        provider=f"{t}-chat", customer=Customer(id=email, kind="email")
    )
    chat_contact = await contact_of(routing, typed.conversation_key)

    response = await post_events(routing, event(source, email=email))
    assert response.status_code == 202, response.text
    crm_contact = response.json()["events"][0]["contact_id"]
    assert crm_contact != chat_contact
    card = (await routing.admin.get(f"/admin/contacts/{crm_contact}")).json()
    assert [(i["namespace"], i["verified"]) for i in card["identities"]] == [("email", True)]
    # A later verified email from the same address joins the CRM's contact.
    mail_contact, _ = await verified_email_contact(routing, t, email)
    assert mail_contact == crm_contact


CSV_HEADER = "id,type,occurred_at,email,phone,external_id,order_id,amount,currency,reason\n"


async def test_a_csv_import_reports_each_row_and_a_reimport_repeats_the_ids(
    routing: Routing,
) -> None:
    t = tag()
    source = f"billing-{t}"
    email = f"fay-{t}@example.com"
    phone = f"+1555{int(t[:6], 16) % 10**7:07d}"
    text = CSV_HEADER + "".join(
        [
            f"r1,activated,2026-11-01T10:00:00Z,{email},,cus-{t},,,,\n",
            f"r2,order_placed,2026-11-02T10:00:00+01:00,,{phone},,o-1,12.5,USD,\n",
            f"r3,churned,2026-11-03T10:00:00Z,,,cus-{t},,,,moved away\n",
            "r4,upgraded,2026-11-03T10:00:00Z,x@y.example,,,,,,\n",
            "r5,order_placed,2026-11-03T10:00:00Z,x@y.example,,,o-2,,EUR,\n",
            "r6,order_placed,2026-11-03T10:00:00Z,x@y.example,,,o-3,5,EURO,\n",
            f"r7,activated,2026-11-03T10:00:00Z,,,unknown-{t},,,,\n",
            "r8,activated,yesterday,x@y.example,,,,,,\n",
            "r9,activated,2026-11-03T10:00:00,x@y.example,,,,,,\n",
            "r10,activated,2026-11-03T10:00:00Z,,555-1234,,,,,\n",
            "r11,activated,2026-11-03T10:00:00Z,x@y.example,,,,-3,,\n",
            f"r1,activated,2026-11-01T10:00:00Z,{email},,,,,,\n",
            "r12,activated,2026-11-03T10:00:00Z,x@y.example,,,,,,,extra\n",
        ]
    )
    async with httpx.AsyncClient(base_url=routing.url) as anonymous:
        refused = await anonymous.post(
            "/admin/customers/import", params={"source": source}, content=text
        )
    assert refused.status_code == 401

    response = await routing.admin.post(
        "/admin/customers/import",
        params={"source": source},
        content=text.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    statuses = [(r["line"], r["id"], r["status"]) for r in report["rows"]]
    assert statuses == [
        (2, "r1", "accepted"),
        (3, "r2", "accepted"),
        (4, "r3", "accepted"),
        (5, "r4", "refused"),
        (6, "r5", "refused"),
        (7, "r6", "refused"),
        (8, "r7", "refused"),
        (9, "r8", "refused"),
        (10, "r9", "refused"),
        (11, "r10", "refused"),
        (12, "r11", "refused"),
        (13, "r1", "duplicate"),
        (14, "r12", "refused"),
    ]
    assert (report["accepted"], report["duplicates"], report["refused"]) == (3, 1, 9)
    reasons = {r["id"]: r["reason"] for r in report["rows"] if r["status"] == "refused"}
    assert "type" in reasons["r4"]
    assert "amount and currency" in reasons["r5"]
    assert "currency" in reasons["r6"]
    assert "external_id is not known" in reasons["r7"]
    assert "occurred_at" in reasons["r8"]
    assert "time zone" in reasons["r9"]
    assert "E.164" in reasons["r10"]
    assert "amount" in reasons["r11"]
    assert reasons["r12"] == "more fields than columns"
    rows = {r["id"]: r for r in report["rows"] if r["status"] == "accepted"}
    # r3 found the contact by the external id r1 linked to it.
    assert rows["r3"]["contact_id"] == rows["r1"]["contact_id"] != rows["r2"]["contact_id"]

    # The same file again, as a multipart upload: the same ids, nothing published anew.
    again = await routing.admin.post(
        "/admin/customers/import",
        params={"source": source},
        files={"file": ("events.csv", text.encode(), "text/csv")},
    )
    assert again.status_code == 200, again.text
    repeated = {r["id"]: r for r in again.json()["rows"] if r["status"] == "duplicate"}
    assert set(repeated) == {"r1", "r2", "r3"}
    for name in ("r1", "r2", "r3"):
        assert repeated[name]["event_id"] == rows[name]["event_id"]
    assert rows["r2"]["event_id"] == str(
        customer_event_id(source, "r2", CustomerEventType.ORDER_PLACED)
    )

    published = await customer_events(routing, source, 3, settle=2.0)
    assert sorted(e["type"] for e in published) == [
        "customer.activated",
        "customer.churned",
        "customer.order_placed",
    ]
    placed = next(e for e in published if e["type"] == "customer.order_placed")
    assert (placed["amount"], placed["currency"]) == ("12.5", "USD")
    assert placed["occurred_at"] == "2026-11-02T09:00:00Z"


async def test_an_unusable_csv_is_refused_whole(routing: Routing) -> None:
    source = f"billing-{tag()}"

    async def send(content: bytes, **params: str) -> httpx.Response:
        return await routing.admin.post(
            "/admin/customers/import",
            params={"source": source, **params},
            content=content,
            headers={"Content-Type": "text/csv"},
        )

    assert (await send(b"")).status_code == 400
    unknown = await send(b"id,type,occurred_at,mail\n")
    assert unknown.status_code == 400
    assert unknown.json()["detail"]["unknown"] == ["mail"]
    assert (await send(b"id,type\n")).json()["detail"]["missing"] == ["occurred_at"]
    assert (await send(b"\xff\xfe,\n")).status_code == 400
    assert (await send(b"id,type,occurred_at\n", source="Not A Source")).status_code == 422
    nul = await send(
        b'id,type,occurred_at,email\nn1,activated,2026-11-01T10:00:00Z,"a\x00@b.example"\n'
    )
    assert nul.status_code == 200, nul.text
    assert nul.json()["rows"][0]["status"] == "refused"


async def test_merge_and_split_announce_the_contacts(routing: Routing) -> None:
    t = tag()
    source = f"shop-{t}"
    first, first_key = await verified_email_contact(routing, t, f"gil-{t}@example.com")
    second, _ = await verified_email_contact(routing, f"{t}b", f"hal-{t}@example.com")
    taken = await post_events(routing, event(source, email=f"gil-{t}@example.com"))
    assert taken.json()["events"][0]["contact_id"] == first

    merged = await routing.admin.post(
        "/admin/contacts/merge", json={"source_id": first, "target_id": second}
    )
    assert merged.status_code == 200, merged.text
    steps = await routing_steps(
        routing,
        lambda vs: any(
            v["type"] == "contact.merged" and v.get("merged_contact_id") == first for v in vs
        ),
    )
    (announced,) = [v for v in steps if v.get("merged_contact_id") == first]
    assert announced["contact_id"] == second
    assert "conversation_id" not in announced
    rows = await routing.sql(
        "SELECT contact_id FROM routing.customer_event WHERE source = :s", s=source
    )
    assert [str(r["contact_id"]) for r in rows] == [second]

    identity = next(
        i["id"] for i in merged.json()["identities"] if i["value"] == f"gil-{t}@example.com"
    )
    split = await routing.admin.post(
        f"/admin/contacts/{second}/split", json={"identity_ids": [identity]}
    )
    assert split.status_code == 201, split.text
    new_contact = split.json()["id"]
    changed = await routing.lifecycle(
        first_key, lambda es: any(e["type"] == "conversation.contact_changed" for e in es)
    )
    (change,) = [e for e in changed if e["type"] == "conversation.contact_changed"]
    assert change["contact_id"] == new_contact
    # The steps before the merge named the first contact.
    assert {e["contact_id"] for e in changed if e["type"] == "conversation.opened"} == {first}


async def test_erasure_names_the_crm_identities(routing: Routing) -> None:
    t = tag()
    source = f"shop-{t}"
    taken = await post_events(
        routing, event(source, email=f"ida-{t}@example.com", external_id=f"cus-{t}")
    )
    contact = taken.json()["events"][0]["contact_id"]
    erased = await routing.admin.post(f"/admin/contacts/{contact}/erase")
    assert erased.status_code == 202, erased.text

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [v for v in values(records) if v.get("contact_id") == contact]

    records = await read_topic(routing.broker, PRIVACY_TOPIC, until=lambda rs: bool(mine(rs)))
    (announced,) = mine(records)
    named = {(i["namespace"], i["value"]) for i in announced["identities"]}
    assert named == {("email", f"ida-{t}@example.com"), (f"crm:{source}", f"cus-{t}")}


async def test_the_webhook_is_off_without_a_key() -> None:
    # An empty secret is no key (anyone could sign with it): the webhook answers 404.
    settings = RoutingSettings(generic_secret="")
    assert settings.generic_keys().keys == ()
    with pytest.raises(NotFound, match="customer events are off"):
        await webhook_configured(settings)
    await webhook_configured(RoutingSettings(generic_secret=SECRET))


async def test_every_step_of_a_handled_conversation_names_its_contact(routing: Routing) -> None:
    t = tag()
    provider = f"{t}-mail"
    await routing.queue(channel="email", providers=[provider], required_skills=[t])
    agent = await routing.agent(skills=[t], status="available")
    contact, key = await verified_email_contact(routing, t, f"jo-{t}@example.com")
    conversation = await agent.take(key)
    resolved = await agent.post(f"/agent/conversations/{conversation['id']}/resolve")
    assert resolved.status_code == 200, resolved.text
    await agent.status("offline")

    wanted = {"opened", "queued", "offered", "accepted", "assigned", "resolved"}
    steps = await routing.lifecycle(
        key, lambda es: wanted <= {e["type"].removeprefix("conversation.") for e in es}
    )
    assert {e["type"].removeprefix("conversation.") for e in steps} >= wanted
    assert {e.get("contact_id") for e in steps} == {contact}


async def test_concurrent_requests_for_a_new_customer_make_one_contact(routing: Routing) -> None:
    t = tag()
    source = f"shop-{t}"
    email = f"kim-{t}@example.com"
    same = event(source, email=email)
    bodies = [
        [event(source, email=email, external_id=f"cus-{t}"), same],
        [event(source, email=email, phone="+15550001234"), same],
        [same],
    ]
    responses = await asyncio.gather(*(post_events(routing, body) for body in bodies))
    assert [r.status_code for r in responses] == [202, 202, 202], [r.text for r in responses]
    taken = [e for r in responses for e in r.json()["events"]]
    assert len({e["contact_id"] for e in taken}) == 1
    assert sorted(e["status"] for e in taken if e["id"] == same["id"]) == [
        "accepted",
        "duplicate",
        "duplicate",
    ]
    rows = await routing.sql(
        "SELECT count(*) AS n FROM routing.identity WHERE namespace = 'email' AND value = :v",
        v=email,
    )
    assert rows == [{"n": 1}]
    published = await customer_events(routing, source, 3, settle=2.0)
    assert len(published) == 3


async def test_the_documented_examples_work(routing: Routing, tmp_path: Path) -> None:
    blocks = shell_blocks("Customer events from a CRM", page="docs/routing.md")
    assert len(blocks) == 2
    outputs = []
    for block in blocks:
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-euo",
            "pipefail",
            "-c",
            block.replace("http://127.0.0.1:8005", routing.url),
            cwd=tmp_path,
            env={**os.environ, "ROUTING_ADMIN_TOKEN": ADMIN_TOKEN},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, err.decode()
        outputs.append(json.loads(out))
    webhook, report = outputs
    (order,) = webhook["events"]
    assert order["status"] == "accepted", webhook
    assert (report["accepted"], report["refused"]) == (3, 0), report
    # The email joins the webhook's customer and the import's: one contact.
    assert {r["contact_id"] for r in report["rows"]} == {order["contact_id"]}


async def test_splitting_off_a_crm_id_moves_no_conversation(routing: Routing) -> None:
    t = tag()
    source = f"shop-{t}"
    email = f"lou-{t}@example.com"
    contact, _ = await verified_email_contact(routing, t, email)
    # A chat visitor whose id happens to equal the CRM's id for the customer, merged in.
    visitor = await routing.customer_writes(
        provider=f"{t}-chat", customer=Customer(id=f"cus-{t}", kind="session")
    )
    visitor_contact = await contact_of(routing, visitor.conversation_key)
    merged = await routing.admin.post(
        "/admin/contacts/merge", json={"source_id": visitor_contact, "target_id": contact}
    )
    assert merged.status_code == 200, merged.text
    taken = await post_events(routing, event(source, email=email, external_id=f"cus-{t}"))
    assert taken.json()["events"][0]["contact_id"] == contact
    card = (await routing.admin.get(f"/admin/contacts/{contact}")).json()
    crm_identity = next(i["id"] for i in card["identities"] if i["namespace"] == f"crm:{source}")

    split = await routing.admin.post(
        f"/admin/contacts/{contact}/split", json={"identity_ids": [crm_identity]}
    )
    assert split.status_code == 201, split.text
    assert split.json()["conversations"] == 0
    assert await contact_of(routing, visitor.conversation_key) == contact
