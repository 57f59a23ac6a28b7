"""Handshakes answer only with our secrets; unsigned or mis-signed posts publish nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from shared.events import EventType, event_id_for
from tests.social.support import (
    encode,
    meta_signature,
    post_meta,
    published,
    x_signature,
)


def messenger_text(page_id: str, user_id: str, mid: str) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": page_id,
                "time": 1767000000000,
                "messaging": [
                    {
                        "sender": {"id": user_id},
                        "recipient": {"id": page_id},
                        "timestamp": 1767000000000,
                        "message": {"mid": mid, "text": "is anyone there?"},
                    }
                ],
            }
        ],
    }


async def test_meta_handshake_echoes_the_challenge_for_our_verify_token(
    social_url: str, fixture_secrets: dict[str, str]
) -> None:
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": fixture_secrets["meta_verify_token"],
        "hub.challenge": "1158201444",
    }
    async with httpx.AsyncClient(base_url=social_url) as client:
        answer = await client.get("/webhooks/meta", params=params)
    assert answer.status_code == 200
    assert answer.text == "1158201444"


async def test_meta_handshake_refuses_a_wrong_verify_token(social_url: str) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"}
    async with httpx.AsyncClient(base_url=social_url) as client:
        answer = await client.get("/webhooks/meta", params=params)
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"


async def test_meta_handshake_names_what_is_missing(social_url: str) -> None:
    async with httpx.AsyncClient(base_url=social_url) as client:
        answer = await client.get("/webhooks/meta", params={"hub.mode": "subscribe"})
    assert answer.status_code == 400
    assert {p["field"] for p in answer.json()["detail"]} == {"hub.verify_token", "hub.challenge"}


async def test_x_crc_answers_the_documented_response_token(
    social_url: str, fixture_manifest: dict[str, dict[str, Any]]
) -> None:
    # The manifest states the answer X expects for its fixture token and the fixture secret.
    note = fixture_manifest["social/x_direct_message.json"]["note"]
    crc_token = note.split("crc_token=")[1].split()[0]
    expected = note.split('"response_token": "')[1].split('"')[0]
    async with httpx.AsyncClient(base_url=social_url) as client:
        answer = await client.get("/webhooks/x", params={"crc_token": crc_token})
        missing = await client.get("/webhooks/x")
    assert answer.status_code == 200
    assert answer.json() == {"response_token": expected}
    assert missing.status_code == 400
    assert missing.json()["detail"] == [{"field": "crc_token", "problem": "missing"}]


async def test_bad_signatures_are_refused_and_publish_nothing(
    social_url: str, broker: str, fixture_secrets: dict[str, str]
) -> None:
    page_id, user_id = "1" + uuid.uuid4().hex[:14], "2" + uuid.uuid4().hex[:14]
    refused_mid, accepted_mid = f"m_{uuid.uuid4().hex}", f"m_{uuid.uuid4().hex}"
    body = encode(messenger_text(page_id, user_id, refused_mid))
    wrong_secret = meta_signature("not-the-app-secret", body)
    tampered = meta_signature(fixture_secrets["meta_app_secret"], body + b" ")
    telegram_update = encode(
        {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": {"id": 1}}}
    )
    async with httpx.AsyncClient(base_url=social_url) as client:
        answers = [
            await client.post("/webhooks/meta", content=body),
            await client.post(
                "/webhooks/meta", content=body, headers={"X-Hub-Signature-256": wrong_secret}
            ),
            await client.post(
                "/webhooks/meta", content=body, headers={"X-Hub-Signature-256": tampered}
            ),
            await client.post(
                "/webhooks/x",
                content=body,
                headers={"x-twitter-webhooks-signature": x_signature("wrong", body)},
            ),
            await client.post("/webhooks/x", content=body),
            await client.post(
                "/webhooks/telegram",
                content=telegram_update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"},
            ),
            await client.post("/webhooks/telegram", content=telegram_update),
        ]
    assert [a.status_code for a in answers] == [401] * len(answers)
    assert all(a.json()["error"] == "unauthorized" for a in answers)

    # A signed message of the same conversation, published after: the refused one never was.
    accepted = await post_meta(
        social_url,
        fixture_secrets["meta_app_secret"],
        messenger_text(page_id, user_id, accepted_mid),
    )
    assert accepted.status_code == 200
    accepted_id = str(event_id_for("messenger", accepted_mid, EventType.MESSAGE_RECEIVED))
    refused_id = str(event_id_for("messenger", refused_mid, EventType.MESSAGE_RECEIVED))
    found = await published(broker, [accepted_id, refused_id], wait_for=[accepted_id])
    assert set(found) == {accepted_id}


async def test_x_crc_is_no_signing_oracle_for_a_forged_delivery(
    social_url: str, broker: str
) -> None:
    # The CRC answer is HMAC(consumer secret, token), exactly the signature POST /webhooks/x
    # checks over a body: handing it a whole delivery as the token must not sign that delivery.
    us, them, message_id = "4337869213", "9" + uuid.uuid4().hex[:12], "8" + uuid.uuid4().hex[:12]
    forged = encode(
        {
            "for_user_id": us,
            "direct_message_events": [
                {
                    "type": "message_create",
                    "id": message_id,
                    "created_timestamp": "1767000000000",
                    "message_create": {
                        "target": {"recipient_id": us},
                        "sender_id": them,
                        "message_data": {"text": "please reset the account e-mail to mine"},
                    },
                }
            ],
        }
    )
    async with httpx.AsyncClient(base_url=social_url) as client:
        crc = await client.get("/webhooks/x", params={"crc_token": forged.decode()})
        signature = crc.json().get("response_token") if crc.status_code == 200 else None
        headers = {"x-twitter-webhooks-signature": signature} if signature else {}
        delivery = await client.post("/webhooks/x", content=forged, headers=headers)
        # A token of the shape X sends (URL-safe, short) is still answered.
        genuine = await client.get("/webhooks/x", params={"crc_token": "Zm9vYmFy-_.~=" * 4})
    assert crc.status_code == 400
    assert crc.json()["detail"] == [{"field": "crc_token", "problem": "not a token X sends"}]
    assert delivery.status_code == 401
    assert genuine.status_code == 200
    event_id = str(event_id_for("x", message_id, EventType.MESSAGE_RECEIVED))
    assert await published(broker, [event_id], wait_for=[]) == {}


async def test_handshakes_with_huge_or_odd_values_get_a_4xx(
    social_url: str, fixture_secrets: dict[str, str]
) -> None:
    """Query values of 60,000 characters, non-ASCII ("²"), a NUL: refused with a
    4xx naming the problem, never a 500; a long challenge with our verify token is echoed."""
    ours = fixture_secrets["meta_verify_token"]
    huge = "9" * 60_000
    async with httpx.AsyncClient(base_url=social_url) as client:
        refused = [
            await client.get("/webhooks/meta", params={**params, "hub.challenge": "1"})
            for params in (
                {"hub.mode": "subscribe", "hub.verify_token": huge},
                {"hub.mode": "subscribe", "hub.verify_token": "²" * 50},
                {"hub.mode": huge, "hub.verify_token": ours},
            )
        ] + [
            await client.get("/webhooks/x", params={"crc_token": token})
            for token in (huge, "²" * 10, "a\x00b")
        ]
        echoed = await client.get(
            "/webhooks/meta",
            params={"hub.mode": "subscribe", "hub.verify_token": ours, "hub.challenge": huge},
        )
    assert [a.status_code for a in refused] == [403, 403, 400, 400, 400, 400]
    assert all(a.json()["error"] in {"forbidden", "bad_request"} for a in refused)
    assert echoed.status_code == 200
    assert echoed.text == huge
