"""Each provider is told a refusal is final in its own words: Mailgun 406, Postmark 403.

Mailgun retries a route POST for 8 hours unless answered 406, Postmark an inbound webhook for
10.5 hours unless 403. A request no retry can change gets that status (with the usual JSON
body naming the problem); a wrong signature or password stays 401, which they retry.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.email.support import (
    basic,
    mailgun_signature,
    mime_event_id,
    mime_message,
    published_ids,
)

pytestmark = pytest.mark.usefixtures("stack_env")


def mailgun_form(signature: dict[str, str], **fields: str) -> dict[str, tuple[None, str]]:
    return {name: (None, value) for name, value in {**signature, **fields}.items()}


async def test_mailgun_gets_406_for_what_it_must_not_retry(
    broker: str, email_client: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    key = fixture_secrets["mailgun_signing_key"]
    no_sender = await email_client.post(
        "/inbound/mailgun",
        files=mailgun_form(
            mailgun_signature(key), subject="Who am I?", **{"body-plain": "nobody sent this"}
        ),
    )
    assert no_sender.status_code == 406, no_sender.text
    assert no_sender.json()["error"] == "unprocessable_entity"
    assert no_sender.json()["message"] == "the message names no sender address"

    unreadable = await email_client.post(
        "/inbound/mailgun",
        files=mailgun_form(mailgun_signature(key), **{"body-mime": "\x00 garbage, no header"}),
    )
    assert unreadable.status_code == 406, unreadable.text
    assert unreadable.json()["message"] == "the message has no headers"

    # A body that is no form carries no signature either: 401, as any unsigned request.
    no_form = await email_client.post(
        "/inbound/mailgun",
        content=b'{"token": "t"}',
        headers={"Content-Type": "application/json"},
    )
    assert no_form.status_code == 401, no_form.text

    # A spent token with another form is a replay; the first form and its retry are taken.
    signature = mailgun_signature(key)
    first_id = f"first-{uuid.uuid4().hex}@example.com"
    replay_id = f"replay-{uuid.uuid4().hex}@example.com"
    first = mailgun_form(signature, **{"body-mime": mime_message(first_id).decode()})
    replay = mailgun_form(signature, **{"body-mime": mime_message(replay_id).decode()})
    assert (await email_client.post("/inbound/mailgun", files=first)).status_code == 200
    replayed = await email_client.post("/inbound/mailgun", files=replay)
    assert replayed.status_code == 406, replayed.text
    assert replayed.json()["error"] == "token_replayed"
    retried = await email_client.post("/inbound/mailgun", files=first)
    assert retried.status_code == 200, retried.text

    # A signature that does not hold is retried: the signing key may be being rotated.
    forged = await email_client.post(
        "/inbound/mailgun",
        files=mailgun_form(
            mailgun_signature("an-old-signing-key"),
            **{"body-mime": mime_message(f"forged-{uuid.uuid4().hex}@example.com").decode()},
        ),
    )
    assert forged.status_code == 401, forged.text

    seen = await published_ids(broker, mime_event_id("mailgun", first_id))
    assert mime_event_id("mailgun", replay_id) not in seen


async def test_postmark_gets_403_for_what_it_must_not_retry(
    broker: str, email_client: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    user, password = fixture_secrets["postmark_basic_auth"].split(":", 1)
    auth = basic(user, password)
    shapeless = await email_client.post(
        "/inbound/postmark", content=b'{"Headers": "not a list"}', headers=auth
    )
    assert shapeless.status_code == 403, shapeless.text
    assert shapeless.json()["error"] == "bad_request"
    assert shapeless.json()["detail"][0]["field"] == "Headers"

    not_json = await email_client.post("/inbound/postmark", content=b"{", headers=auth)
    assert not_json.status_code == 403, not_json.text

    no_sender = await email_client.post(
        "/inbound/postmark", json={"Subject": "Who am I?", "TextBody": "hi"}, headers=auth
    )
    assert no_sender.status_code == 403, no_sender.text
    assert no_sender.json()["message"] == "the message names no sender address"

    message_id = f"postmark-{uuid.uuid4().hex}@example.com"
    mail = {
        "FromFull": {"Email": "pat@example.com", "Name": "Pat"},
        "Subject": "Hello",
        "TextBody": "hi",
        "Headers": [{"Name": "Message-ID", "Value": f"<{message_id}>"}],
    }
    wrong_password = await email_client.post(
        "/inbound/postmark", json=mail, headers=basic(user, "rotated")
    )
    assert wrong_password.status_code == 401, wrong_password.text
    accepted = await email_client.post("/inbound/postmark", json=mail, headers=auth)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["event_id"] == mime_event_id("postmark", message_id)
    assert mime_event_id("postmark", message_id) in await published_ids(
        broker, mime_event_id("postmark", message_id)
    )
