"""Broker paused, Postgres away: a caller still hears TwiML, and the call's events reach Kafka.

Twilio does not retry a voice webhook, so its answer cannot wait for the broker: the call's
events are kept in the connector's outbox. The connector here has a database of its own: the
package's connector would otherwise relay this outbox to the other broker.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from services.phone.app import create_app
from shared.events import INTERACTIONS_TOPIC, event_id_for
from switchboard_dev import migrations
from switchboard_dev.broker import Broker
from switchboard_dev.ports import free_port
from switchboard_dev.postgres import create_database, drop_database
from tests.phone.support import twilio_request
from tests.support.kafka import read_topic, values
from tests.support.server import serving


@pytest.fixture
def private_broker() -> Iterator[Broker]:
    """A broker of this test's own, so pausing it disturbs no other test."""
    with Broker.running() as broker:
        yield broker


@pytest.fixture
async def own_database(pg_admin_url: str) -> AsyncIterator[str]:
    name = f"switchboard_phone_{uuid.uuid4().hex[:10]}"
    url = await create_database(pg_admin_url, name)
    await asyncio.to_thread(migrations.upgrade, url, ("phone",))
    try:
        yield url
    finally:
        await drop_database(pg_admin_url, name)


@pytest.fixture
def on_private_broker(
    phone_env: dict[str, str], private_broker: Broker, own_database: str
) -> FastAPI:
    """A phone connector on the private broker that gives up publishing after 2 s."""
    return app_with(
        KAFKA_BOOTSTRAP_SERVERS=private_broker.bootstrap,
        DATABASE_URL=own_database,
        KAFKA_PUBLISH_TIMEOUT_S="2",
    )


def app_with(**variables: str) -> FastAPI:
    """A phone connector built with these environment variables (the package's besides)."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in variables.items():
            patch.setenv(name, value)
        return create_app()


async def wait_ready(client: httpx.AsyncClient) -> None:
    for _ in range(300):
        if (await client.get("/readyz")).status_code == 200:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the phone connector never became ready")


def call(sid: str, status: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "CallStatus": status,
        "Direction": "inbound",
        "From": "+14155550142",
        "To": "+14155550100",
    }


async def test_a_caller_hears_twiml_and_the_call_starts_once_the_broker_is_back(
    private_broker: Broker, on_private_broker: FastAPI, validator: RequestValidator
) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    key = f"twilio_voice:{sid}"
    sms_sid = f"SM{uuid.uuid4().hex}"
    sms = {"MessageSid": sms_sid, "From": "+14155550142", "To": "+14155550100", "Body": "hi"}
    async with (
        serving(on_private_broker) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as phone,
    ):
        await wait_ready(phone)
        # A connector that has published before: its producer knows the topic's partitions.
        warm = {**sms, "MessageSid": f"SM{uuid.uuid4().hex}"}
        body, headers = twilio_request(validator, "/twilio/sms", warm)
        assert (await phone.post("/twilio/sms", content=body, headers=headers)).status_code == 200
        private_broker.pause()
        try:
            body, headers = twilio_request(validator, "/twilio/voice", call(sid, "ringing"))
            answer = await phone.post("/twilio/voice", content=body, headers=headers)
            # Twilio retries neither a voice webhook nor a status callback: both are taken.
            body, headers = twilio_request(
                validator, "/twilio/voice/status", call(sid, "in-progress")
            )
            answered = await phone.post("/twilio/voice/status", content=body, headers=headers)
            # An inbound SMS is refused: Twilio retries it when its URL asks to (#rc=...).
            body, headers = twilio_request(validator, "/twilio/sms", sms)
            refused = await phone.post("/twilio/sms", content=body, headers=headers)
            # Long enough for the relay to try, time out and try again while paused.
            await asyncio.sleep(3)
        finally:
            private_broker.resume()

        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/xml")
        assert answer.text == (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue>support</Enqueue></Response>'
        )
        # The call's next event waits behind the first one, which the outbox still holds.
        assert answered.status_code == 200, answered.text
        assert answered.json()["event_ids"] == [
            str(event_id_for("twilio_voice", sid, "call.answered"))
        ]
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"]
        assert refused.json()["error"] == "broker_unavailable"

        await wait_ready(phone)
        retried = await phone.post("/twilio/sms", content=body, headers=headers)
        assert retried.status_code == 200, retried.text
        assert retried.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'

        records = await read_topic(
            private_broker.bootstrap,
            INTERACTIONS_TOPIC,
            until=lambda rs: sum(r.key == key.encode() for r in rs) >= 2,
            settle=3.0,
        )
    events = [v for v in values(records) if v["conversation_key"] == key]
    assert [e["type"] for e in events] == ["call.started", "call.answered"]
    assert events[0]["event_id"] == str(event_id_for("twilio_voice", sid, "call.started"))
    assert events[0]["customer"] == {"id": "+14155550142", "kind": "phone"}
    # The refused send may still have reached the broker once it answered: a copy with the
    # same id, which consumers count once.
    texts = [v for v in values(records) if v.get("raw_ref") == sms_sid]
    expected = str(event_id_for("twilio_sms", sms_sid, "message.received"))
    assert texts
    assert {t["event_id"] for t in texts} == {expected}


async def test_a_caller_hears_twiml_while_postgres_is_unreachable(
    phone_env: dict[str, str], broker: str, validator: RequestValidator
) -> None:
    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/switchboard"
    app = app_with(KAFKA_BOOTSTRAP_SERVERS=broker, DATABASE_URL=nowhere)
    sid = f"CA{uuid.uuid4().hex}"
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as phone:
        body, headers = twilio_request(validator, "/twilio/voice", call(sid, "ringing"))
        answer = await phone.post("/twilio/voice", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert "<Enqueue>support</Enqueue>" in answer.text
    # Not recorded, so published at once: the caller's call starts all the same.
    key = f"twilio_voice:{sid}"
    records = await read_topic(
        broker, INTERACTIONS_TOPIC, until=lambda rs: any(r.key == key.encode() for r in rs)
    )
    (started,) = [v for v in values(records) if v["conversation_key"] == key]
    assert started["type"] == "call.started"


async def test_a_caller_hears_twiml_with_neither_broker_nor_postgres(
    phone_env: dict[str, str], validator: RequestValidator
) -> None:
    # Nothing can keep the call: its first status callback will publish call.started (the
    # call's state says it has not started). The caller is queued all the same.
    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/switchboard"
    app = app_with(KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}", DATABASE_URL=nowhere)
    sid = f"CA{uuid.uuid4().hex}"
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as phone:
        body, headers = twilio_request(validator, "/twilio/voice", call(sid, "ringing"))
        answer = await phone.post("/twilio/voice", content=body, headers=headers)
        # Every other webhook is told to retry.
        body, headers = twilio_request(validator, "/twilio/voice/status", call(sid, "ringing"))
        status = await phone.post("/twilio/voice/status", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert "<Enqueue>support</Enqueue>" in answer.text
    assert status.status_code == 503, status.text
    assert status.headers["Retry-After"]
    assert status.json()["error"] == "database_unavailable"
