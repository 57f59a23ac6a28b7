"""Twilio voice and SMS webhooks, signed by the official validator, through the real broker."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from services.phone.security import twilio_signature
from shared.events import INTERACTIONS_TOPIC, event_id_for
from tests.phone.support import twilio_request
from tests.support.kafka import read_topic, values


async def events_of(broker: str, key: str, count: int, settle: float = 1.5) -> list[dict[str, Any]]:
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: sum(r.key == key.encode() for r in rs) >= count,
        settle=settle,
    )
    return [v for v in values(records) if v["conversation_key"] == key]


def test_our_signature_agrees_with_the_official_validator_on_its_test_vector() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
        "Caller": "+14158675309",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature(url, list(params.items()), "12345") == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert (
        RequestValidator("12345").compute_signature(url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    )


TEXT = st.characters(codec="utf-8")


@settings(max_examples=200, deadline=None)
@given(
    params=st.dictionaries(
        st.text(TEXT, min_size=1, max_size=12), st.text(TEXT, max_size=30), max_size=8
    ),
    token=st.text(min_size=1, max_size=40),
)
def test_our_signature_agrees_with_the_official_validator(
    params: dict[str, str], token: str
) -> None:
    url = "https://hooks.example.com/twilio/voice/status"
    expected = RequestValidator(token).compute_signature(url, params)
    assert twilio_signature(url, list(params.items()), token) == expected


async def test_the_voice_status_fixture_yields_one_whole_answered_call(
    phone: httpx.AsyncClient,
    broker: str,
    provider_fixtures: Path,
    fixture_manifest: dict[str, dict[str, Any]],
) -> None:
    entry = fixture_manifest["phone/twilio_voice_status.form"]
    body = (provider_fixtures / "phone" / "twilio_voice_status.form").read_bytes()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        **entry["headers"],
    }
    sid = dict(parse_qsl(body.decode()))["CallSid"]
    first = await phone.post("/twilio/voice/status", content=body, headers=headers)
    assert first.status_code == 200, first.text
    again = await phone.post("/twilio/voice/status", content=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == {"event_ids": []}

    events = await events_of(broker, f"twilio_voice:{sid}", 3)
    assert [e["type"] for e in events] == ["call.started", "call.answered", "call.ended"]
    assert [e["event_id"] for e in events] == first.json()["event_ids"]
    started, answered, ended = events
    for event in events:
        assert event["channel"] == "phone"
        assert event["provider"] == "twilio_voice"
        assert event["direction"] == "inbound"
        assert event["customer"] == {"id": "+14155550199", "kind": "phone"}
        assert event["raw_ref"] == sid
        assert event["event_id"] == str(event_id_for("twilio_voice", sid, event["type"]))
    assert ended["occurred_at"] == "2025-03-03T10:05:00Z"
    assert answered["occurred_at"] == "2025-03-03T10:04:13Z"  # 47 s of talk before the end
    assert started["occurred_at"] == answered["occurred_at"]
    assert ended["call"] == {
        "from_number": "+14155550199",
        "to_number": "+14155550100",
        "queue_wait_seconds": 0.0,
        "talk_seconds": 47.0,
        "disposition": "answered",
        "recording_ref": "RE0123456789abcdef0123456789abcdef",
    }


def status(sid: str, call_status: str, sequence: int, at: str, **more: str) -> dict[str, str]:
    return {
        "CallSid": sid,
        "CallStatus": call_status,
        "SequenceNumber": str(sequence),
        "Timestamp": at,
        "Direction": "inbound",
        "From": "+442079460000",
        "To": "+14155550100",
        **more,
    }


async def test_out_of_order_and_repeated_callbacks_make_one_correct_call(
    phone: httpx.AsyncClient, broker: str, validator: RequestValidator
) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    callbacks = [
        status(sid, "completed", 3, "Mon, 03 Mar 2025 10:05:00 +0000", CallDuration="60"),
        status(sid, "ringing", 0, "Mon, 03 Mar 2025 10:03:30 +0000"),
        status(sid, "in-progress", 2, "Mon, 03 Mar 2025 10:04:00 +0000"),
        status(sid, "completed", 3, "Mon, 03 Mar 2025 10:05:00 +0000", CallDuration="60"),
        status(sid, "ringing", 0, "Mon, 03 Mar 2025 10:03:30 +0000"),
    ]
    published: list[str] = []
    for params in callbacks:
        body, headers = twilio_request(validator, "/twilio/voice/status", params)
        answer = await phone.post("/twilio/voice/status", content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        published += answer.json()["event_ids"]
    assert len(published) == 3

    events = await events_of(broker, f"twilio_voice:{sid}", 3)
    assert sorted(e["type"] for e in events) == ["call.answered", "call.ended", "call.started"]
    ended = next(e for e in events if e["type"] == "call.ended")
    assert ended["call"]["disposition"] == "answered"
    assert ended["call"]["talk_seconds"] == 60.0
    assert ended["customer"]["id"] == "+442079460000"


async def test_a_caller_who_hangs_up_before_an_answer_is_an_abandon(
    phone: httpx.AsyncClient, broker: str, validator: RequestValidator
) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    for params in (
        status(sid, "ringing", 0, "Mon, 03 Mar 2025 11:00:00 +0000"),
        status(sid, "canceled", 1, "Mon, 03 Mar 2025 11:00:42 +0000", QueueTime="42"),
    ):
        body, headers = twilio_request(validator, "/twilio/voice/status", params)
        assert (
            await phone.post("/twilio/voice/status", content=body, headers=headers)
        ).status_code == 200
    events = await events_of(broker, f"twilio_voice:{sid}", 2)
    assert [e["type"] for e in events] == ["call.started", "call.ended"]
    assert events[1]["call"]["disposition"] == "abandoned"
    assert events[1]["call"]["queue_wait_seconds"] == 42.0
    assert "talk_seconds" not in events[1]["call"]


async def test_the_voice_webhook_queues_the_caller_and_starts_the_call(
    phone: httpx.AsyncClient, broker: str, validator: RequestValidator
) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    params = {
        "CallSid": sid,
        "CallStatus": "ringing",
        "Direction": "inbound",
        "From": "+14155550111",
        "To": "+14155550100",
    }
    body, headers = twilio_request(validator, "/twilio/voice", params)
    answer = await phone.post("/twilio/voice", content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.text == (
        '<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue>support</Enqueue></Response>'
    )
    (event,) = await events_of(broker, f"twilio_voice:{sid}", 1)
    assert event["type"] == "call.started"


async def test_sms_and_mms_become_messages_on_the_phone_channel(
    phone: httpx.AsyncClient,
    broker: str,
    validator: RequestValidator,
    provider_fixtures: Path,
    fixture_manifest: dict[str, dict[str, Any]],
) -> None:
    entry = fixture_manifest["phone/twilio_sms.form"]
    body = (provider_fixtures / "phone" / "twilio_sms.form").read_bytes()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **entry["headers"]}
    answer = await phone.post("/twilio/sms", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    # TwiML, as Twilio reads the answer to an inbound message (JSON is its error 12300): no reply.
    assert answer.headers["content-type"].startswith("text/xml")
    assert answer.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'

    mms_sid = f"MM{uuid.uuid4().hex}"
    mms = {
        "MessageSid": mms_sid,
        "From": "(415) 555-0177",
        "To": "+14155550100",
        "Body": "photo of the damage",
        "NumMedia": "2",
        "MediaUrl0": "https://api.twilio.com/media/ME1",
        "MediaContentType0": "image/jpeg",
        "MediaUrl1": "https://api.twilio.com/media/ME2",
        "MediaContentType1": "application/pdf",
    }
    body, headers = twilio_request(validator, "/twilio/sms", mms)
    assert (await phone.post("/twilio/sms", content=body, headers=headers)).status_code == 200

    (sms,) = await events_of(broker, "sms:+14155550199:+14155550100", 1)
    assert sms["event_id"] == str(
        event_id_for("twilio_sms", "SM1234567890abcdef1234567890abcdef", "message.received")
    )
    assert sms["type"] == "message.received"
    assert sms["provider"] == "twilio_sms"
    assert sms["content"]["text"] == "Hello there"
    assert sms["raw_ref"] == "SM1234567890abcdef1234567890abcdef"
    (picture,) = await events_of(broker, "sms:+14155550177:+14155550100", 1)
    assert picture["customer"] == {"id": "+14155550177", "kind": "phone"}
    assert picture["content"]["content_type"] == "mms"
    assert picture["content"]["attachments"] == [
        {
            "content_type": "image/jpeg",
            "provider_media_id": "https://api.twilio.com/media/ME1",
            "inline": False,
        },
        {
            "content_type": "application/pdf",
            "provider_media_id": "https://api.twilio.com/media/ME2",
            "inline": False,
        },
    ]


async def test_an_sms_carries_the_language_of_its_text(
    phone: httpx.AsyncClient, broker: str, validator: RequestValidator
) -> None:
    texts = {
        "+14155550161": ("Hola, mi pedido todavía no ha llegado", "es"),
        "+14155550162": ("Bonjour, où est ma commande ?", "fr"),
        # Too short to tell: no language rather than a guess.
        "+14155550163": ("ok", None),
    }
    for sender, (text, _) in texts.items():
        sms = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": sender, "To": "+14155550100"}
        body, headers = twilio_request(validator, "/twilio/sms", {**sms, "Body": text})
        assert (await phone.post("/twilio/sms", content=body, headers=headers)).status_code == 200

    for sender, (text, language) in texts.items():
        (event,) = await events_of(broker, f"sms:{sender}:+14155550100", 1)
        assert event["content"]["text"] == text
        assert event["content"].get("language") == language


async def test_a_bad_signature_is_refused_and_publishes_nothing(
    phone: httpx.AsyncClient, broker: str, validator: RequestValidator
) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    body, headers = twilio_request(
        validator,
        "/twilio/voice/status",
        status(sid, "ringing", 0, "Mon, 03 Mar 2025 11:00:00 +0000"),
    )
    forged = await phone.post("/twilio/voice/status", content=body + b"&Extra=1", headers=headers)
    assert forged.status_code == 401
    assert forged.json()["error"] == "unauthorized"
    unsigned = await phone.post(
        "/twilio/sms", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert unsigned.status_code == 401
    wrong_path = await phone.post("/twilio/sms", content=body, headers=headers)
    assert wrong_path.status_code == 401

    marker = f"CA{uuid.uuid4().hex}"
    body, headers = twilio_request(
        validator,
        "/twilio/voice/status",
        status(marker, "ringing", 0, "Mon, 03 Mar 2025 11:00:00 +0000"),
    )
    assert (
        await phone.post("/twilio/voice/status", content=body, headers=headers)
    ).status_code == 200
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: any(r.key == f"twilio_voice:{marker}".encode() for r in rs),
    )
    assert not any(r.key == f"twilio_voice:{sid}".encode() for r in records)


async def test_malformed_callbacks_get_400_naming_the_field(
    phone: httpx.AsyncClient, validator: RequestValidator
) -> None:
    for params, field in (
        ({"CallStatus": "ringing"}, "CallSid"),
        ({"CallSid": "CA1", "CallStatus": "exploded"}, "CallStatus"),
        ({"CallSid": "CA1", "CallStatus": "completed", "CallDuration": "long"}, "CallDuration"),
        ({"CallSid": "CA1", "CallStatus": "ringing", "Timestamp": "yesterday"}, "Timestamp"),
    ):
        body, headers = twilio_request(validator, "/twilio/voice/status", params)
        answer = await phone.post("/twilio/voice/status", content=body, headers=headers)
        assert answer.status_code == 400, answer.text
        assert answer.json()["detail"][0]["field"] == field


async def test_a_malformed_sms_keeps_a_json_error_naming_the_field(
    phone: httpx.AsyncClient, validator: RequestValidator
) -> None:
    # Only a success is TwiML: an error keeps its status, so Twilio logs it as one.
    body, headers = twilio_request(validator, "/twilio/sms", {"From": "+14155550177"})
    answer = await phone.post("/twilio/sms", content=body, headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["detail"] == [{"field": "MessageSid", "problem": "missing"}]
