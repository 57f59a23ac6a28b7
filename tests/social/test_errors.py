"""Broken bodies get a 400 naming the field; a broker that does not acknowledge gets a 503."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from services.social.app import create_app
from shared.events import Content, Customer
from shared.language import language_of
from switchboard_dev.broker import Broker
from switchboard_dev.ports import free_port
from tests.social.conftest import environment, social_env
from tests.social.support import (
    assert_published_as,
    event_ids_on,
    meta_signature,
    post_meta,
    post_telegram,
    post_x,
    published,
    social_event,
    wait_until_ready,
)
from tests.social.test_verification import messenger_text
from tests.support.server import serving


async def _post_signed_meta(url: str, secret: str, body: bytes) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.post(
            "/webhooks/meta",
            content=body,
            headers={"X-Hub-Signature-256": meta_signature(secret, body)},
        )


async def test_malformed_json_is_a_400_naming_the_body(
    social_url: str, fixture_secrets: dict[str, str]
) -> None:
    answer = await _post_signed_meta(social_url, fixture_secrets["meta_app_secret"], b'{"object":')
    assert answer.status_code == 400
    assert answer.json()["detail"][0]["field"] == "body"


async def test_an_unknown_meta_object_is_a_400_naming_object(
    social_url: str, fixture_secrets: dict[str, str]
) -> None:
    answer = await post_meta(
        social_url, fixture_secrets["meta_app_secret"], {"object": "user", "entry": []}
    )
    assert answer.status_code == 400
    assert answer.json()["detail"][0]["field"] == "object"


async def test_a_wrong_shape_is_a_400_naming_each_field(
    social_url: str, fixture_secrets: dict[str, str]
) -> None:
    secret = fixture_secrets["meta_app_secret"]
    no_sender = messenger_text("10", "20", "m_1")
    del no_sender["entry"][0]["messaging"][0]["sender"]
    whatsapp_no_id: dict[str, Any] = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "metadata": {"phone_number_id": "2"},
                            "messages": [{"from": "1", "timestamp": "1", "type": "text"}],
                        },
                    }
                ],
            }
        ],
    }
    answers = [
        await post_meta(social_url, secret, no_sender),
        await post_meta(social_url, secret, whatsapp_no_id),
        await post_x(social_url, fixture_secrets["x_consumer_secret"], {"users": {}}),
        await post_telegram(
            social_url, fixture_secrets["telegram_secret_token"], {"message": {"text": "hi"}}
        ),
    ]
    assert [a.status_code for a in answers] == [400] * 4
    fields = [{p["field"] for p in a.json()["detail"]} for a in answers]
    assert "entry.0.messaging.0.sender" in fields[0]
    assert "entry.0.changes.0.value.messages.0.id" in fields[1]
    assert fields[2] == {"for_user_id"}
    assert fields[3] >= {"update_id", "message.message_id", "message.date", "message.chat"}


async def test_an_unreachable_broker_is_a_503_with_retry_after(
    stack_env: None, fixture_secrets: dict[str, str]
) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    with environment(KAFKA_BOOTSTRAP_SERVERS=nobody, **social_env(fixture_secrets)):
        app = create_app()
    async with serving(app) as url:
        answer = await post_meta(
            url, fixture_secrets["meta_app_secret"], messenger_text("10", "20", "m_down")
        )
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.json()["error"] == "broker_unavailable"


async def test_a_batch_refused_while_the_broker_hangs_is_published_once_on_retry(
    stack_env: None, fixture_secrets: dict[str, str]
) -> None:
    page_id, user_id = "3" + uuid.uuid4().hex[:14], "4" + uuid.uuid4().hex[:14]
    payload = messenger_text(page_id, user_id, f"m_{uuid.uuid4().hex}")
    second = dict(payload["entry"][0]["messaging"][0])
    second["message"] = {"mid": f"m_{uuid.uuid4().hex}", "text": "hello?"}
    payload["entry"][0]["messaging"].append(second)
    secret = fixture_secrets["meta_app_secret"]
    expected = [
        social_event(
            "messenger",
            item["message"]["mid"],
            occurred_at=datetime.fromtimestamp(1767000000, UTC),
            customer=Customer(id=user_id, kind="page_scoped_id"),
            conversation_key=f"messenger:{page_id}:{user_id}",
            # The connector detects the language of what the customer typed.
            content=Content(
                text=item["message"]["text"], language=language_of(item["message"]["text"])
            ),
            raw_ref=item["message"]["mid"],
            provider_meta={
                "account_id": page_id,
                "sender_id": user_id,
                "recipient_id": page_id,
                "kind": "message",
            },
        )
        for item in payload["entry"][0]["messaging"]
    ]

    with Broker.running() as own_broker:
        env = social_env(fixture_secrets) | {
            "KAFKA_BOOTSTRAP_SERVERS": own_broker.bootstrap,
            "KAFKA_PUBLISH_TIMEOUT_S": "1",
        }
        with environment(**env):
            app = create_app()
        async with serving(app) as url:
            await wait_until_ready(url)
            warmup = await post_meta(url, secret, messenger_text("10", "20", "m_warmup"))
            assert warmup.status_code == 200
            since = datetime.now(UTC)
            own_broker.pause()
            try:
                refused = await post_meta(url, secret, payload)
            finally:
                own_broker.resume()
            retried = await post_meta(url, secret, payload)

        assert refused.status_code == 503
        assert retried.status_code == 200
        assert retried.json() == {"event_ids": [str(e.event_id) for e in expected]}
        found = await published(own_broker.bootstrap, [str(e.event_id) for e in expected])
        assert_published_as(found, expected, since=since)
        ids = await event_ids_on(own_broker.bootstrap, {expected[0].conversation_key}, settle=1.0)
        assert set(ids) == {str(e.event_id) for e in expected}
