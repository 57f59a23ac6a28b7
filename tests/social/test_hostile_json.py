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
