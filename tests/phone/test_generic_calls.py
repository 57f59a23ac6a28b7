"""The generic call-log endpoint: one call or a batch, signed with HMAC-SHA256."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from shared.events import INTERACTIONS_TOPIC
from shared.signatures import hmac_sha256_hex
from tests.phone.conftest import GLOBEX_SECRET
from tests.support.kafka import read_topic, values
from tests.support.webhooks import standard_signed


def signed(payload: Any, secret: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, standard_signed(secret, body)


def call(call_id: str, **more: Any) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "direction": "outbound",
        "from": "+14155550100",
        "to": "020 7946 0000",
        "started_at": "2026-11-20T09:00:00Z",
        "answered_at": "2026-11-20T09:00:12Z",
        "ended_at": "2026-11-20T09:05:12Z",
        "disposition": "answered",
        "talk_seconds": 300,
        "source": "acme_pbx",
        **more,
    }


async def test_a_batch_of_calls_is_published_once_with_a_report(
    phone: httpx.AsyncClient, broker: str, fixture_secrets: dict[str, str]
) -> None:
    secret = fixture_secrets["generic_hmac_secret"]
    first, second = f"c-{uuid.uuid4().hex}", f"c-{uuid.uuid4().hex}"
    batch = [
        call(first),
        call(second, answered_at=None, disposition="busy", talk_seconds=None, direction="inbound"),
    ]
    body, headers = signed(batch, secret)
    answer = await phone.post("/calls", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["accepted", "accepted"]
    assert (await phone.post("/calls", content=body, headers=headers)).json()["duplicate"] == 2

    keys = {f"acme_pbx:{first}".encode(), f"acme_pbx:{second}".encode()}
    records = await read_topic(
        broker, INTERACTIONS_TOPIC, until=lambda rs: sum(r.key in keys for r in rs) >= 5, settle=1.0
    )
    mine = [v for v in values(records) if v["conversation_key"].encode() in keys]
    assert len(mine) == 5
    outbound = [v for v in mine if v["conversation_key"] == f"acme_pbx:{first}"]
    assert [v["type"] for v in outbound] == ["call.started", "call.answered", "call.ended"]
    # The customer of an outbound call is the one called; a number that is no valid number of
    # the default region (US) stays as written.
    assert outbound[0]["customer"] == {"id": "020 7946 0000", "kind": "address"}
    assert outbound[2]["direction"] == "outbound"
    assert outbound[2]["call"]["talk_seconds"] == 300
    busy = [v for v in mine if v["conversation_key"] == f"acme_pbx:{second}"]
    assert [v["type"] for v in busy] == ["call.started", "call.ended"]
    assert busy[1]["call"]["disposition"] == "busy"
    assert busy[1]["customer"] == {"id": "+14155550100", "kind": "phone"}


async def test_invalid_calls_get_400_naming_the_field(
    phone: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    secret = fixture_secrets["generic_hmac_secret"]
    body, headers = signed(
        call("x", started_at="2026-11-20T09:00:00", disposition="exploded"), secret
    )
    answer = await phone.post("/calls", content=body, headers=headers)
    assert answer.status_code == 400
    fields = " ".join(p["field"] for p in answer.json()["detail"])
    assert "started_at" in fields
    assert "disposition" in fields

    body, headers = signed(call("y", ended_at="2026-11-20T08:00:00Z"), secret)
    answer = await phone.post("/calls", content=body, headers=headers)
    assert answer.status_code == 400
    assert "started_at <= answered_at <= ended_at" in answer.text

    body, headers = signed(call("z"), "not-the-secret")
    assert (await phone.post("/calls", content=body, headers=headers)).status_code == 401


async def test_a_partner_posts_calls_as_its_own_source_only(
    phone: httpx.AsyncClient, broker: str, fixture_secrets: dict[str, str]
) -> None:
    default = fixture_secrets["generic_hmac_secret"]
    call_id = f"c-{uuid.uuid4().hex}"
    for source, secret in [
        ("acme_pbx", GLOBEX_SECRET),  # named by no key: only the default key's "*" takes it
        ("twilio_voice", GLOBEX_SECRET),  # a built-in provider: its calls' keys
        ("asterisk", default),
        ("globex_pbx", default),  # the partner's own
    ]:
        body, headers = signed(call(call_id, source=source), secret)
        answer = await phone.post("/calls", content=body, headers=headers)
        assert answer.status_code == 403, (source, answer.text)
        assert answer.json()["detail"] == {
            "key": "globex" if secret == GLOBEX_SECRET else "default",
            "source": source,
        }
    body, headers = signed(call(call_id, source="globex_pbx"), GLOBEX_SECRET)
    answer = await phone.post("/calls", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(v["conversation_key"] == f"globex_pbx:{call_id}" for v in values(rs)),
        settle=1.0,
    )
    providers = {v["provider"] for v in values(records) if v.get("raw_ref") == call_id}
    assert providers == {"globex_pbx"}


async def test_a_replayed_webhook_id_adds_nothing_and_cannot_carry_another_body(
    phone: httpx.AsyncClient, broker: str
) -> None:
    first, second = f"c-{uuid.uuid4().hex}", f"c-{uuid.uuid4().hex}"
    body, headers = signed(call(first, source="globex_pbx"), GLOBEX_SECRET)
    assert (await phone.post("/calls", content=body, headers=headers)).json()["accepted"] == 1
    replayed = await phone.post("/calls", content=body, headers=headers)
    assert replayed.status_code == 200, replayed.text
    assert replayed.json()["duplicate"] == 1
    # Another call under the same webhook-id: refused, so it is not recorded either.
    other = json.dumps(call(second, source="globex_pbx")).encode()
    reused = standard_signed(GLOBEX_SECRET, other, webhook_id=headers["webhook-id"])
    answer = await phone.post("/calls", content=other, headers=reused)
    assert answer.status_code == 409, answer.text
    keys = {f"globex_pbx:{first}", f"globex_pbx:{second}"}
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: sum(v["conversation_key"] in keys for v in values(rs)) >= 3,
        settle=1.0,
    )
    mine = [v for v in values(records) if v["conversation_key"] in keys]
    assert [v["conversation_key"] for v in mine] == [f"globex_pbx:{first}"] * 3


async def test_the_legacy_signature_is_refused_when_not_configured(
    phone: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    body = json.dumps(call(f"c-{uuid.uuid4().hex}")).encode()
    secret = fixture_secrets["generic_hmac_secret"]
    legacy = {
        "Content-Type": "application/json",
        "X-Switchboard-Signature": "sha256=" + hmac_sha256_hex(secret, body),
    }
    answer = await phone.post("/calls", content=body, headers=legacy)
    assert answer.status_code == 401
    assert "X-Switchboard-Signature is not accepted" in answer.json()["message"]
