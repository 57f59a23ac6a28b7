"""Hostile JSON, correctly signed, gets a 4xx from every social parser: never a 500 (issue 16).

Python's own JSON parser raises ``RecursionError`` on nesting past the recursion limit and
``ValueError`` on an integer past the 4,300 digits ``int()`` converts; neither is a
``JSONDecodeError``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.social.support import meta_signature, x_signature
from tests.social.test_verification import messenger_text
from tests.support.fixtures import FIXTURES

DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_INTEGER = b"9" * 4301

#: Per platform, bodies that broke its parser: deep nesting alone, inside an object, and an
#: integer too long for int() where the platform expects a number or an id.
HOSTILE_BODIES = {
    "meta": [
        DEEP,
        b'{"object": "page", "entry": ' + DEEP + b"}",
        b'{"object": ' + HUGE_INTEGER + b"}",
    ],
    "x": [DEEP, b'{"for_user_id": ' + DEEP + b"}", b'{"for_user_id": ' + HUGE_INTEGER + b"}"],
    "telegram": [DEEP, b'{"update_id": ' + DEEP + b"}", b'{"update_id": ' + HUGE_INTEGER + b"}"],
}


def signed(platform: str, body: bytes, secrets: dict[str, str]) -> dict[str, str]:
    """The headers with which ``platform`` would deliver ``body``."""
    if platform == "meta":
        return {"X-Hub-Signature-256": meta_signature(secrets["meta_app_secret"], body)}
    if platform == "x":
        return {"x-twitter-webhooks-signature": x_signature(secrets["x_consumer_secret"], body)}
    return {"X-Telegram-Bot-Api-Secret-Token": secrets["telegram_secret_token"]}


@pytest.mark.parametrize("platform", sorted(HOSTILE_BODIES))
async def test_hostile_json_gets_a_400_naming_the_body(
    social_url: str, fixture_secrets: dict[str, str], platform: str
) -> None:
    async with httpx.AsyncClient(base_url=social_url) as client:
        for body in HOSTILE_BODIES[platform]:
            answer = await client.post(
                f"/webhooks/{platform}",
                content=body,
                headers=signed(platform, body, fixture_secrets),
            )
            assert answer.status_code == 400, (body[:40], answer.status_code, answer.text)
            reply = answer.json()
            assert reply["error"] == "bad_request"
            assert reply["detail"] == [{"field": "body", "problem": reply["detail"][0]["problem"]}]


def nested_where_hashed(platform: str, depth: int) -> bytes:
    """A delivery of a kind the connector publishes by a hash of its content, carrying an
    unknown field ``depth`` arrays deep."""
    deep: dict[str, Any] = {"x": "NEST"}
    if platform == "meta":
        change = {"field": "account_update", "value": deep}
        payload: dict[str, Any] = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [change]}],
        }
    elif platform == "x":
        payload = {"for_user_id": "1", "weird_events": [deep]}
    else:
        payload = {"update_id": depth, "poll_answer": {"user": {"id": 5}, **deep}}
    nest = "[" * depth + "]" * depth
    return json.dumps(payload).replace('"NEST"', nest).encode()


@pytest.mark.parametrize("platform", sorted(HOSTILE_BODIES))
async def test_nesting_just_under_the_recursion_limit_gets_a_400(
    social_url: str, fixture_secrets: dict[str, str], platform: str
) -> None:
    """Found trying the above: nesting the JSON parser still takes broke the fingerprint's
    ``json.dumps`` a few frames deeper (a 500 for Meta at 890 levels, X at 920)."""
    async with httpx.AsyncClient(base_url=social_url) as client:
        for depth in range(880, 960, 5):
            body = nested_where_hashed(platform, depth)
            answer = await client.post(
                f"/webhooks/{platform}",
                content=body,
                headers=signed(platform, body, fixture_secrets),
            )
            assert answer.status_code == 400, (depth, answer.status_code, answer.text)
            assert answer.json()["detail"][0]["field"] == "body"


#: An integer of as many digits as int() converts, where each platform sends an id: decoded,
#: read as text, then too long for the conversation key it makes.
LONGEST_INTEGER = int("9" * 4300)


def with_long_ids(platform: str) -> list[dict[str, Any]]:
    """Deliveries of ``platform`` whose customer or chat id is ``LONGEST_INTEGER``."""
    if platform == "meta":
        page = messenger_text("10", "20", "m_long")
        page["entry"][0]["messaging"][0]["sender"]["id"] = LONGEST_INTEGER
        return [page]
    if platform == "x":
        dm = json.loads((FIXTURES / "social" / "x_direct_message.json").read_text())
        dm["direct_message_events"][0]["message_create"]["sender_id"] = LONGEST_INTEGER
        return [dm]
    message = json.loads((FIXTURES / "social" / "telegram_message.json").read_text())
    message["message"]["chat"]["id"] = LONGEST_INTEGER
    # A kind of update the connector does not know: its chat id is read from the raw dict.
    unknown = {"update_id": 7, "poll_answer": {"user": {"id": 5}, "chat": {"id": LONGEST_INTEGER}}}
    return [message, unknown]


@pytest.mark.parametrize("platform", sorted(HOSTILE_BODIES))
async def test_an_id_of_4300_digits_gets_a_400(
    social_url: str, fixture_secrets: dict[str, str], platform: str
) -> None:
    async with httpx.AsyncClient(base_url=social_url) as client:
        for payload in with_long_ids(platform):
            body = json.dumps(payload).encode()
            answer = await client.post(
                f"/webhooks/{platform}",
                content=body,
                headers=signed(platform, body, fixture_secrets),
            )
            assert answer.status_code == 400, (answer.status_code, answer.text[:300])
            assert answer.json()["error"] == "bad_request"
