"""Out of hours, a Twilio caller hears the queue's closed message and leaves a voicemail:
routing announces the call as out of hours, the connector redirects the live call, and the
recording ends it as a voicemail that stays queued for a call back. In hours nothing
changes. Real broker, Postgres, routing and the phone connector; Twilio is the emulator."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.etree import ElementTree

import httpx
import pytest
from twilio.request_validator import RequestValidator

from services.phone.calls import CallState, lifecycle_events, recording_events
from services.phone.outbound.voice import voicemail_twiml
from services.phone.twilio import recording_report, voicemail_report
from services.routing.app import create_app as create_routing
from shared.db import Database
from shared.events import (
    INTERACTIONS_TOPIC,
    PRIVACY_TOPIC,
    Channel,
    Customer,
    ErasedConversation,
    ErasureEvent,
)
from shared.kafka import EventProducer, OutgoingRecord
from tests.phone.conftest import ACCOUNT_SID, PUBLIC_BASE
from tests.phone.support import twilio_request
from tests.routing.support import (
    ADMIN_TOKEN,
    Routing,
    eventually,
    routing_settings,
    tag,
    types,
)
from tests.support.emulator import Answer, ProviderEmulator
from tests.support.kafka import group_at_end, read_topic, values
from tests.support.server import serving

CLOSED = {"time_zone": "Europe/Paris", "hours": {}}
ALWAYS = {
    "time_zone": "UTC",
    "hours": {
        day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    },
}
CLOSED_MESSAGE = "Our phone lines are closed & open at 9:00. Leave a message after the tone."
CALLER = "+14155550123"
RECORDING_SID = "RE" + "0" * 31 + "1"
RECORDING_URL = (
    f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{RECORDING_SID}"
)


@pytest.fixture(scope="module")
async def routing(
    stack_env: None, broker: str, database: Database, producer: EventProducer
) -> AsyncIterator[Routing]:
    group = await group_at_end(broker, [INTERACTIONS_TOPIC], "routing-voicemail")
    async with (
        serving(create_routing(routing_settings(consumer_group=group))) as url,
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as admin,
    ):
        yield Routing(url=url, admin=admin, database=database, producer=producer, broker=broker)


@pytest.fixture(scope="module")
async def voice_queue(routing: Routing) -> AsyncIterator[dict[str, Any]]:
    """The phone queue of Twilio calls, closed, ahead of any other; afterwards it selects a
    provider nobody uses, so it catches no later module's calls."""
    queue = await routing.queue(
        channel="phone",
        providers=["twilio_voice"],
        required_skills=[tag()],
        priority=1000,
        schedule=CLOSED,
        closed_message=CLOSED_MESSAGE,
    )
    try:
        yield queue
    finally:
        response = await routing.admin.patch(
            f"/admin/queues/{queue['name']}", json={"providers": [tag()], "schedule": None}
        )
        assert response.status_code == 200, response.text


def calls_path(call_sid: str) -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call_sid}.json"


async def post_form(
    phone: httpx.AsyncClient, validator: RequestValidator, path: str, params: dict[str, str]
) -> httpx.Response:
    body, headers = twilio_request(validator, path, params)
    return await phone.post(path, content=body, headers=headers)


def voice_params(call_sid: str, status: str, **more: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": ACCOUNT_SID,
        "CallStatus": status,
        "Direction": "inbound",
        "From": CALLER,
        "To": "+14155550100",
        **more,
    }


def recording_params(call_sid: str, seconds: str, status: str = "completed") -> dict[str, str]:
    """A recording status callback as Twilio sends it: no numbers, only the call's id."""
    return {
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid,
        "RecordingSid": RECORDING_SID,
        "RecordingUrl": RECORDING_URL,
        "RecordingStatus": status,
        "RecordingDuration": seconds,
        "RecordingChannels": "1",
        "RecordingSource": "RecordVerb",
        "RecordingStartTime": "Mon, 30 Nov 2026 03:00:00 +0000",
    }


async def call_events(broker: str, key: str, until: Any, settle: float = 0.0) -> list[Any]:
    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [v for v in values(records) if v.get("conversation_key") == key]

    records = await read_topic(
        broker, INTERACTIONS_TOPIC, until=lambda rs: until(mine(rs)), timeout=30, settle=settle
    )
    return mine(records)


def test_the_voicemail_twiml_says_the_message_escaped_then_records() -> None:
    assert voicemail_twiml("Closed & <gone>", action_url=None, max_seconds=60) == (
        "<Response><Say>Closed &amp; &lt;gone&gt;</Say><Hangup/></Response>"
    )
    assert voicemail_twiml("Closed", action_url='https://h.example/v?a=1&b="', max_seconds=60) == (
        '<Response><Say>Closed</Say><Record action="https://h.example/v?a=1&amp;b=&quot;" '
        'method="POST" maxLength="60" finishOnKey="#" playBeep="true"/><Hangup/></Response>'
    )


def test_the_voicemail_twiml_asks_for_the_recording_once_stored() -> None:
    twiml = voicemail_twiml(
        "Closed",
        action_url="https://h.example/twilio/voice/voicemail",
        max_seconds=60,
        recording_url='https://h.example/twilio/voice/recording?a=1&b="',
    )
    document = ElementTree.fromstring(twiml)  # noqa: S314
    record = document.find("Record")
    assert record is not None
    assert record.attrib == {
        "action": "https://h.example/twilio/voice/voicemail",
        "method": "POST",
        "maxLength": "60",
        "finishOnKey": "#",
        "playBeep": "true",
        "recordingStatusCallback": 'https://h.example/twilio/voice/recording?a=1&b="',
        "recordingStatusCallbackMethod": "POST",
    }


def test_a_recording_reaches_the_conversation_once_in_any_order() -> None:
    at = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    action = voicemail_report(
        [
            ("CallSid", "CA1"),
            ("From", CALLER),
            ("To", "+14155550100"),
            ("RecordingUrl", RECORDING_URL),
            ("RecordingSid", RECORDING_SID),
            ("RecordingDuration", "9"),
        ],
        received_at=at,
    )
    callback = recording_report(list(recording_params("CA1", "9").items()), received_at=at)
    assert callback is not None
    customer = Customer(id=CALLER, kind="phone")
    live = CallState(started=True, voicemail=True)

    # The callback while the call goes on: the message now, the call's end without it.
    [message], recorded = recording_events(callback, live, customer, received_at=at)
    assert message.type == "message.received"
    [ended], after = lifecycle_events(action, recorded, received_at=at, region="US")
    assert ended.call is not None
    assert (ended.call.disposition, ended.call.recording_ref) == ("voicemail", None)
    assert recording_events(callback, after, customer, received_at=at)[0] == []
    # The action first: the recording on call.ended, the callback adds nothing.
    [ended], after = lifecycle_events(action, live, received_at=at, region="US")
    assert ended.call is not None
    assert ended.call.recording_ref == RECORDING_URL
    assert recording_events(callback, after, customer, received_at=at)[0] == []
    # The call ended without it, then the action: the same message as the callback's.
    gone = CallState(started=True, ended=True, voicemail=True)
    [late], after = lifecycle_events(action, gone, received_at=at, region="US")
    assert (late.type, late.event_id) == ("message.received", message.event_id)
    assert late.content is not None
    assert [a.provider_media_id for a in late.content.attachments] == [RECORDING_URL]
    assert lifecycle_events(action, after, received_at=at, region="US")[0] == []
    assert recording_events(callback, after, customer, received_at=at)[0] == []


def test_a_closed_message_too_long_for_twilio_is_cut_to_fit() -> None:
    action = "https://h.example/twilio/voice/voicemail"
    twiml = voicemail_twiml("Closed & " * 300, action_url=action, max_seconds=60)
    assert 3900 < len(twiml) <= 4000  # Twilio's limit, with most of the message kept
    # Our own TwiML, not untrusted input; still well-formed: no entity cut in half.
    document = ElementTree.fromstring(twiml)  # noqa: S314
    said = document.findtext("Say") or ""
    assert said.startswith("Closed & Closed & ")
    assert document.find("Record") is not None


async def test_a_call_out_of_hours_hears_the_closed_message_and_leaves_a_voicemail(
    phone: httpx.AsyncClient,
    validator: RequestValidator,
    emulator: ProviderEmulator,
    routing: Routing,
    voice_queue: dict[str, Any],
) -> None:
    call_sid = "CA" + uuid.uuid4().hex
    key = f"twilio_voice:{call_sid}"
    emulator.script(calls_path(call_sid), Answer(200, {"sid": call_sid, "status": "in-progress"}))
    answer = await post_form(phone, validator, "/twilio/voice", voice_params(call_sid, "ringing"))
    assert answer.status_code == 200
    assert "<Enqueue>" in answer.text  # the webhook answers at once, as in hours

    # Routing finds the queue closed; the connector redirects the live call.
    [redirect] = await emulator.wait_for(calls_path(call_sid), timeout=30)
    action = PUBLIC_BASE + "/twilio/voice/voicemail"
    callback = PUBLIC_BASE + "/twilio/voice/recording"
    assert dict(parse_qsl(redirect.body.decode())) == {
        "Twiml": "<Response><Say>Our phone lines are closed &amp; open at 9:00. Leave a message "
        f'after the tone.</Say><Record action="{action}" method="POST" maxLength="120" '
        f'finishOnKey="#" playBeep="true" recordingStatusCallback="{callback}" '
        'recordingStatusCallbackMethod="POST"/><Hangup/></Response>'
    }
    steps = await routing.lifecycle(key, lambda es: "out_of_hours" in types(es))
    out_of_hours = next(e for e in steps if e["type"] == "conversation.out_of_hours")
    assert out_of_hours["closed_message"] == CLOSED_MESSAGE
    assert out_of_hours["queue"] == voice_queue["name"]

    # The caller leaves a message: Twilio posts the recording to the <Record action>.
    recorded = await post_form(
        phone,
        validator,
        "/twilio/voice/voicemail",
        voice_params(
            call_sid,
            "in-progress",
            RecordingUrl=RECORDING_URL,
            RecordingSid=RECORDING_SID,
            RecordingDuration="14",
            Digits="#",
        ),
    )
    assert recorded.status_code == 200
    assert recorded.headers["content-type"].startswith("text/xml")
    assert recorded.text.endswith("<Response><Hangup/></Response>")
    # Then the call completes: Twilio answered it, so it reports a duration.
    completed = await post_form(
        phone,
        validator,
        "/twilio/voice/status",
        voice_params(call_sid, "completed", CallDuration="31"),
    )
    assert completed.status_code == 200
    assert completed.json() == {"event_ids": []}
    # The recording status callback follows: the recording reached the conversation already.
    stored = await post_form(
        phone, validator, "/twilio/voice/recording", recording_params(call_sid, "14")
    )
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"event_ids": []}

    events = await call_events(
        routing.broker, key, lambda es: any(e["type"] == "call.ended" for e in es), settle=1.5
    )
    assert [e["type"] for e in events] == ["call.started", "call.ended"]
    ended = events[1]["call"]
    assert ended["disposition"] == "voicemail"
    assert ended["recording_ref"] == RECORDING_URL
    assert "talk_seconds" not in ended
    assert events[1]["provider_meta"]["recording_seconds"] == "14"

    # A voicemail is a contact waiting for a call back: queued, neither abandoned nor resolved.
    await asyncio.sleep(1.0)
    conversation = await routing.conversation_in(key, "queued")
    assert conversation["queue_name"] == voice_queue["name"]
    steps = await routing.lifecycle(key, lambda es: True, settle=1.0)
    assert "abandoned" not in types(steps)
    assert "resolved" not in types(steps)
    assert len(emulator.to(calls_path(call_sid))) == 1
    # The agent who calls back finds the recording in the transcript.
    transcript = await routing.admin.get(f"/admin/conversations/{conversation['id']}/messages")
    assert transcript.status_code == 200, transcript.text
    [voicemail] = transcript.json()["messages"]
    assert (voicemail["author"], voicemail["text"]) == ("customer", "Voicemail (14 s)")
    assert voicemail["attachments"] == [
        {
            "name": "voicemail",
            "content_type": "audio/x-wav",
            "provider_media_id": RECORDING_URL,
            "inline": False,
        }
    ]


async def call_sent_to_voicemail(
    phone: httpx.AsyncClient, validator: RequestValidator, emulator: ProviderEmulator
) -> tuple[str, str]:
    """A new call out of hours, once the connector redirected it to the voicemail: its sid
    and conversation key."""
    call_sid = "CA" + uuid.uuid4().hex
    emulator.script(calls_path(call_sid), Answer(200, {"sid": call_sid}))
    await post_form(phone, validator, "/twilio/voice", voice_params(call_sid, "ringing"))
    await emulator.wait_for(calls_path(call_sid), timeout=30)
    return call_sid, f"twilio_voice:{call_sid}"


async def test_a_call_sent_to_voicemail_that_leaves_no_message_still_ends_as_one(
    phone: httpx.AsyncClient,
    validator: RequestValidator,
    emulator: ProviderEmulator,
    routing: Routing,
    voice_queue: dict[str, Any],
) -> None:
    call_sid, key = await call_sent_to_voicemail(phone, validator, emulator)
    # Twilio requests no action for an empty recording: only the call's end arrives.
    await post_form(
        phone,
        validator,
        "/twilio/voice/status",
        voice_params(call_sid, "completed", CallDuration="9"),
    )
    events = await call_events(routing.broker, key, lambda es: len(es) >= 2)
    assert [e["type"] for e in events] == ["call.started", "call.ended"]
    assert events[1]["call"]["disposition"] == "voicemail"
    assert "recording_ref" not in events[1]["call"]
    await routing.conversation_in(key, "queued")


async def test_a_caller_hanging_up_while_recording_still_leaves_the_voicemail(
    phone: httpx.AsyncClient,
    validator: RequestValidator,
    emulator: ProviderEmulator,
    routing: Routing,
    voice_queue: dict[str, Any],
) -> None:
    call_sid, key = await call_sent_to_voicemail(phone, validator, emulator)
    # The caller hangs up mid-recording: Twilio reports the call completed first...
    completed = await post_form(
        phone,
        validator,
        "/twilio/voice/status",
        voice_params(call_sid, "completed", CallDuration="22"),
    )
    assert completed.status_code == 200, completed.text
    ended = await call_events(routing.broker, key, lambda es: len(es) >= 2)
    assert ended[1]["call"]["disposition"] == "voicemail"
    assert "recording_ref" not in ended[1]["call"]
    # ...then the stored recording, which only names the call.
    stored = await post_form(
        phone, validator, "/twilio/voice/recording", recording_params(call_sid, "9")
    )
    assert stored.status_code == 200, stored.text
    [message_id] = stored.json()["event_ids"]
    # The <Record action> request comes last, and a callback is repeated: nothing more.
    late_action = await post_form(
        phone,
        validator,
        "/twilio/voice/voicemail",
        voice_params(
            call_sid,
            "completed",
            RecordingUrl=RECORDING_URL,
            RecordingSid=RECORDING_SID,
            RecordingDuration="9",
        ),
    )
    assert late_action.status_code == 200
    assert late_action.text.endswith("<Response><Hangup/></Response>")
    again = await post_form(
        phone, validator, "/twilio/voice/recording", recording_params(call_sid, "9")
    )
    assert again.json() == {"event_ids": []}

    events = await call_events(routing.broker, key, lambda es: len(es) >= 3, settle=1.5)
    assert [e["type"] for e in events] == ["call.started", "call.ended", "message.received"]
    message = events[2]
    assert message["event_id"] == message_id
    assert message["customer"]["id"] == CALLER
    assert message["direction"] == "inbound"
    assert message["content"]["text"] == "Voicemail (9 s)"
    assert message["content"]["attachments"] == [
        {
            "name": "voicemail",
            "content_type": "audio/x-wav",
            "provider_media_id": RECORDING_URL,
            "inline": False,
        }
    ]
    # The agent who calls back finds it in the transcript, once; the call still waits.
    conversation = await routing.conversation_in(key, "queued")

    async def transcript() -> list[dict[str, Any]]:
        answer = await routing.admin.get(f"/admin/conversations/{conversation['id']}/messages")
        assert answer.status_code == 200, answer.text
        messages: list[dict[str, Any]] = answer.json()["messages"]
        return messages

    async def recorded() -> list[dict[str, Any]] | None:
        return await transcript() or None

    await eventually(recorded, what="the voicemail in the transcript")
    await asyncio.sleep(1.0)
    [voicemail] = await transcript()
    assert (voicemail["author"], voicemail["text"]) == ("customer", "Voicemail (9 s)")
    assert [a["provider_media_id"] for a in voicemail["attachments"]] == [RECORDING_URL]
    steps = await routing.lifecycle(key, lambda es: True, settle=1.0)
    assert "abandoned" not in types(steps)
    assert "resolved" not in types(steps)

    # The caller's number kept for the recording is personal data: erasure forgets it.
    async def customer_kept() -> list[Any]:
        rows = await routing.sql(
            "SELECT customer_id FROM phone.call WHERE call_key = :key", key=key
        )
        return [r["customer_id"] for r in rows]

    assert await customer_kept() == [CALLER]
    erasure = ErasureEvent(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        erasure_id=uuid.uuid4(),
        contact_id=uuid.UUID(str(conversation["contact_id"])),
        conversations=[
            ErasedConversation(
                conversation_id=uuid.UUID(str(conversation["id"])),
                conversation_key=key,
                channel=Channel.PHONE,
                provider="twilio_voice",
            )
        ],
    )
    await routing.producer.publish_many(
        [OutgoingRecord(PRIVACY_TOPIC, str(erasure.contact_id).encode(), erasure.to_json())]
    )

    async def forgotten() -> bool:
        return await customer_kept() == [None]

    await eventually(forgotten, timeout=30, what="the call's customer to be forgotten")


async def test_a_recording_callback_without_audio_or_call_adds_nothing(
    phone: httpx.AsyncClient, validator: RequestValidator
) -> None:
    unknown = "CA" + uuid.uuid4().hex
    absent = await post_form(
        phone, validator, "/twilio/voice/recording", recording_params(unknown, "0", "absent")
    )
    stray = await post_form(
        phone, validator, "/twilio/voice/recording", recording_params(unknown, "4")
    )
    assert (absent.status_code, absent.json()) == (200, {"event_ids": []})
    assert (stray.status_code, stray.json()) == (200, {"event_ids": []})
    params = recording_params(unknown, "4")
    del params["RecordingSid"]
    missing = await post_form(phone, validator, "/twilio/voice/recording", params)
    assert missing.status_code == 400
    assert missing.json()["detail"] == [{"field": "RecordingSid", "problem": "missing"}]
    body, headers = twilio_request(
        validator, "/twilio/voice/recording", recording_params(unknown, "4")
    )
    headers["X-Twilio-Signature"] = "bad"
    forged = await phone.post("/twilio/voice/recording", content=body, headers=headers)
    assert forged.status_code == 401


async def test_in_hours_a_call_waits_for_an_agent_as_before(
    phone: httpx.AsyncClient,
    validator: RequestValidator,
    emulator: ProviderEmulator,
    routing: Routing,
    voice_queue: dict[str, Any],
) -> None:
    response = await routing.admin.patch(
        f"/admin/queues/{voice_queue['name']}", json={"schedule": ALWAYS}
    )
    assert response.status_code == 200, response.text
    call_sid = "CA" + uuid.uuid4().hex
    key = f"twilio_voice:{call_sid}"
    await post_form(phone, validator, "/twilio/voice", voice_params(call_sid, "ringing"))
    steps = await routing.lifecycle(key, lambda es: "queued" in types(es), settle=2.0)
    assert "out_of_hours" not in types(steps)
    assert emulator.to(calls_path(call_sid)) == []
    # A caller who hangs up unanswered still ends as before.
    await post_form(
        phone,
        validator,
        "/twilio/voice/status",
        voice_params(call_sid, "completed", CallDuration="0"),
    )
    events = await call_events(routing.broker, key, lambda es: len(es) >= 2)
    assert events[1]["call"]["disposition"] == "missed"


async def test_a_recording_without_its_call_or_url_is_refused(
    phone: httpx.AsyncClient, validator: RequestValidator
) -> None:
    params = voice_params("CA" + uuid.uuid4().hex, "in-progress", RecordingDuration="3")
    response = await post_form(phone, validator, "/twilio/voice/voicemail", params)
    assert response.status_code == 400
    assert response.json()["detail"] == [{"field": "RecordingUrl", "problem": "missing"}]
    body, headers = twilio_request(validator, "/twilio/voice/voicemail", params)
    headers["X-Twilio-Signature"] = "bad"
    assert (
        await phone.post("/twilio/voice/voicemail", content=body, headers=headers)
    ).status_code == 401
