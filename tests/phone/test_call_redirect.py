"""An agent accepts a waiting Twilio call: the call is redirected to a <Dial> of the agent,
once per accepted step, and never when the caller hung up first (real broker, Postgres and a
provider emulator answering as Twilio does)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from typing import Any
from urllib.parse import parse_qsl

import httpx
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from services.phone.models import call_redirect
from services.phone.outbound.voice import dial_twiml
from shared.clock import utc_now
from shared.db import Database
from shared.events import ROUTING_TOPIC, Channel, LifecycleStep, RoutingEvent
from shared.kafka import EventProducer, OutgoingRecord
from tests.phone.conftest import ACCOUNT_SID
from tests.phone.support import twilio_request
from tests.support.emulator import Answer, ProviderEmulator

AGENT_NUMBER = "+15551230000"


def calls_path(call_sid: str) -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call_sid}.json"


async def start_call(phone: httpx.AsyncClient, validator: RequestValidator) -> str:
    """A new inbound call through Twilio's voice webhook; its CallSid."""
    call_sid = "CA" + uuid.uuid4().hex
    params = {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": "+14155550123",
        "To": "+14155550100",
    }
    body, headers = twilio_request(validator, "/twilio/voice", params)
    answer = await phone.post("/twilio/voice", content=body, headers=headers)
    assert answer.status_code == 200
    return call_sid


async def publish_accepted(
    producer: EventProducer, call_sid: str, agent_address: str | None, *, times: int = 1
) -> RoutingEvent:
    """Routing's conversation.accepted of the call, as routing keys it."""
    accepted = RoutingEvent(
        event_id=uuid.uuid4(),
        type=LifecycleStep.ACCEPTED,
        occurred_at=utc_now(),
        conversation_id=uuid.uuid4(),
        conversation_key=f"twilio_voice:{call_sid}",
        channel=Channel.PHONE,
        queue="support",
        agent_id=str(uuid.uuid4()),
        agent_address=agent_address,
    )
    await republish(producer, accepted, times=times)
    return accepted


async def republish(producer: EventProducer, accepted: RoutingEvent, *, times: int = 1) -> None:
    """Publish the accepted step (again), keyed by its conversation as routing keys it."""
    assert accepted.conversation_key is not None
    record = OutgoingRecord(ROUTING_TOPIC, accepted.conversation_key.encode(), accepted.to_json())
    await producer.publish_many([record] * times)


async def redirect_of(database: Database, accepted: RoutingEvent) -> Any:
    """The accepted step's redirect record, once it is settled."""
    for _ in range(200):
        async with database.transaction() as session:
            row = (
                await session.execute(
                    select(call_redirect).where(
                        call_redirect.c.accepted_event_id == accepted.event_id
                    )
                )
            ).one_or_none()
        if row is not None and row.settled_at is not None:
            return row
        await asyncio.sleep(0.1)
    raise AssertionError("the accepted step was never settled")


def test_the_twiml_dials_numbers_sip_and_client_addresses_escaped() -> None:
    assert dial_twiml("+15551230000") == (
        "<Response><Dial><Number>+15551230000</Number></Dial></Response>"
    )
    assert dial_twiml("sip:agent@pbx.example.com;transport=tls&x=<1>") == (
        "<Response><Dial><Sip>sip:agent@pbx.example.com;transport=tls&amp;x=&lt;1&gt;</Sip>"
        "</Dial></Response>"
    )
    assert dial_twiml("client:alice") == "<Response><Dial><Client>alice</Client></Dial></Response>"


async def test_an_accepted_call_is_redirected_to_its_agent_once(
    phone: httpx.AsyncClient,
    validator: RequestValidator,
    producer: EventProducer,
    emulator: ProviderEmulator,
    database: Database,
    fixture_secrets: dict[str, str],
) -> None:
    call_sid = await start_call(phone, validator)
    emulator.script(calls_path(call_sid), Answer(200, {"sid": call_sid, "status": "in-progress"}))
    accepted = await publish_accepted(producer, call_sid, AGENT_NUMBER, times=2)

    [request] = await emulator.wait_for(calls_path(call_sid))
    assert request.method == "POST"
    login = f"{ACCOUNT_SID}:{fixture_secrets['twilio_auth_token']}".encode()
    assert request.headers["authorization"] == "Basic " + base64.b64encode(login).decode()
    assert dict(parse_qsl(request.body.decode())) == {
        "Twiml": f"<Response><Dial><Number>{AGENT_NUMBER}</Number></Dial></Response>"
    }
    row = await redirect_of(database, accepted)
    assert (row.state, row.agent_address, row.detail) == ("redirected", AGENT_NUMBER, None)
    # The same step consumed again redirects nothing more.
    await republish(producer, accepted)
    await asyncio.sleep(1.5)
    assert len(emulator.to(calls_path(call_sid))) == 1


async def test_a_call_that_ended_before_the_accept_is_not_redirected(
    phone: httpx.AsyncClient,
    validator: RequestValidator,
    producer: EventProducer,
    emulator: ProviderEmulator,
    database: Database,
) -> None:
    call_sid = await start_call(phone, validator)
    params = {
        "CallSid": call_sid,
        "CallStatus": "completed",
        "CallDuration": "0",
        "Direction": "inbound",
        "From": "+14155550123",
        "To": "+14155550100",
    }
    body, headers = twilio_request(validator, "/twilio/voice/status", params)
    assert (await phone.post("/twilio/voice/status", content=body, headers=headers)).is_success
    accepted = await publish_accepted(producer, call_sid, AGENT_NUMBER)

    row = await redirect_of(database, accepted)
    assert (row.state, row.detail) == ("not_waiting", "the call ended before it was accepted")
    assert emulator.to(calls_path(call_sid)) == []


async def test_a_call_twilio_reports_over_fails_without_retry(
    phone: httpx.AsyncClient,
    validator: RequestValidator,
    producer: EventProducer,
    emulator: ProviderEmulator,
    database: Database,
) -> None:
    call_sid = await start_call(phone, validator)
    message = f"The requested resource /Calls/{call_sid}.json was not found"
    emulator.script(calls_path(call_sid), Answer(404, {"code": 20404, "message": message}))
    accepted = await publish_accepted(producer, call_sid, "sip:agent@pbx.example.com")

    row = await redirect_of(database, accepted)
    assert (row.state, row.detail) == ("failed", f"{message} (Twilio error 20404)")
    assert len(emulator.to(calls_path(call_sid))) == 1


async def test_a_429_is_retried_while_the_caller_waits(
    phone: httpx.AsyncClient,
    validator: RequestValidator,
    producer: EventProducer,
    emulator: ProviderEmulator,
    database: Database,
) -> None:
    call_sid = await start_call(phone, validator)
    emulator.script(
        calls_path(call_sid),
        Answer(429, {"code": 20429, "message": "Too Many Requests"}, {"Retry-After": "1"}),
        Answer(200, {"sid": call_sid}),
    )
    accepted = await publish_accepted(producer, call_sid, "client:alice")

    row = await redirect_of(database, accepted)
    assert row.state == "redirected"
    requests = emulator.to(calls_path(call_sid))
    assert len(requests) == 2
    assert requests[1].at - requests[0].at >= 0.9


async def test_an_accept_without_an_agent_address_redirects_nothing(
    phone: httpx.AsyncClient,
    validator: RequestValidator,
    producer: EventProducer,
    emulator: ProviderEmulator,
) -> None:
    call_sid = await start_call(phone, validator)
    await publish_accepted(producer, call_sid, None)
    await asyncio.sleep(1.5)
    assert emulator.to(calls_path(call_sid)) == []
