"""Who may post: signatures, basic auth, bearer tokens, replays, and the body size limit."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from services.email.app import create_app
from services.email.settings import EmailSettings
from tests.email.support import (
    SENDGRID_AUTH,
    basic,
    bearer,
    mailgun_signature,
    mime_event_id,
    mime_message,
    published_ids,
    settings_for,
)
from tests.support.server import serving

pytestmark = pytest.mark.usefixtures("stack_env")


def _mailgun_form(signature: dict[str, str], mime: bytes) -> dict[str, tuple[None, str]]:
    fields = {**signature, "recipient": "support@mg.example.com", "body-mime": mime.decode()}
    return {name: (None, value) for name, value in fields.items()}


async def test_unverified_requests_get_401_and_publish_nothing(
    broker: str,
    provider_fixtures: Path,
    fixture_secrets: dict[str, str],
    email_client: httpx.AsyncClient,
) -> None:
    key = fixture_secrets["mailgun_signing_key"]
    refused: dict[str, httpx.Response] = {}
    rejected_ids: set[str] = set()

    def message(provider: str) -> bytes:
        message_id = f"refused-{uuid.uuid4().hex}@example.com"
        rejected_ids.add(mime_event_id(provider, message_id))
        return mime_message(message_id)

    bad_signature = {**mailgun_signature(key), "signature": "0" * 64}
    refused["mailgun bad signature"] = await email_client.post(
        "/inbound/mailgun", files=_mailgun_form(bad_signature, message("mailgun"))
    )
    wrong_key = mailgun_signature("not-the-signing-key")
    refused["mailgun wrong key"] = await email_client.post(
        "/inbound/mailgun", files=_mailgun_form(wrong_key, message("mailgun"))
    )
    stale = mailgun_signature(key, timestamp=int(time.time()) - 301)
    refused["mailgun stale"] = await email_client.post(
        "/inbound/mailgun", files=_mailgun_form(stale, message("mailgun"))
    )
    fixture = (provider_fixtures / "email" / "mailgun_parsed.form").read_bytes()
    refused["mailgun fixture, default tolerance"] = await email_client.post(
        "/inbound/mailgun",
        content=fixture,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    refused["sendgrid wrong password"] = await email_client.post(
        "/inbound/sendgrid",
        files={"email": (None, message("sendgrid"))},
        headers=basic(SENDGRID_AUTH[0], "wrong"),
    )
    refused["sendgrid no auth"] = await email_client.post(
        "/inbound/sendgrid", files={"email": (None, message("sendgrid"))}
    )
    postmark = b'{"From": "pat@example.com", "Headers": [], "TextBody": "hi"}'
    refused["postmark no auth"] = await email_client.post("/inbound/postmark", content=postmark)
    refused["postmark wrong user"] = await email_client.post(
        "/inbound/postmark", content=postmark, headers=basic("intruder", "inbound-pass")
    )
    refused["mime wrong token"] = await email_client.post(
        "/inbound/mime", content=message("mime"), headers=bearer("guess")
    )
    refused["mime no token"] = await email_client.post("/inbound/mime", content=message("mime"))
    for case, response in refused.items():
        assert response.status_code == 401, f"{case}: {response.text}"
        assert response.json()["error"] == "unauthorized", case

    sentinel_id = f"sentinel-{uuid.uuid4().hex}@example.com"
    accepted = await email_client.post(
        "/inbound/mime", content=mime_message(sentinel_id), headers=bearer()
    )
    assert accepted.status_code == 200, accepted.text
    seen = await published_ids(broker, mime_event_id("mime", sentinel_id))
    assert seen.isdisjoint(rejected_ids)


async def test_a_mailgun_token_is_spent_on_one_form_and_its_retry_is_accepted(
    broker: str, fixture_secrets: dict[str, str], email_client: httpx.AsyncClient
) -> None:
    """Mailgun retries with the same token when our 200 was lost: the same form again (each
    post has its own multipart boundary) gets 200 with the same event id. The token with
    another form is a replay, refused for good: 406, so that Mailgun does not retry it."""
    signature = mailgun_signature(fixture_secrets["mailgun_signing_key"])
    first_id = f"first-{uuid.uuid4().hex}@example.com"
    replay_id = f"replay-{uuid.uuid4().hex}@example.com"
    first = await email_client.post(
        "/inbound/mailgun", files=_mailgun_form(signature, mime_message(first_id))
    )
    retry = await email_client.post(
        "/inbound/mailgun", files=_mailgun_form(signature, mime_message(first_id))
    )
    other = await email_client.post(
        "/inbound/mailgun", files=_mailgun_form(signature, mime_message(replay_id))
    )
    assert first.status_code == 200, first.text
    assert retry.status_code == 200, retry.text
    assert retry.json()["event_id"] == first.json()["event_id"]
    assert other.status_code == 406, other.text
    assert other.json()["error"] == "token_replayed"
    assert "already used with another form" in other.json()["message"]
    seen = await published_ids(broker, mime_event_id("mailgun", first_id))
    assert mime_event_id("mailgun", replay_id) not in seen


async def test_a_body_over_the_limit_gets_413(
    fixture_secrets: dict[str, str],
) -> None:
    settings = settings_for(fixture_secrets, max_body_bytes=4096)
    big = mime_message(f"big-{uuid.uuid4().hex}@example.com", body="x" * 5000)
    async with (
        serving(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        responses = [
            await client.post("/inbound/mime", content=big, headers=bearer()),
            await client.post(
                "/inbound/sendgrid", files={"email": (None, big)}, headers=basic(*SENDGRID_AUTH)
            ),
        ]
    for response in responses:
        assert response.status_code == 413, response.text
        assert response.json()["error"] == "payload_too_large"


def test_the_default_size_limit_is_25_megabytes(fixture_secrets: dict[str, str]) -> None:
    assert settings_for(fixture_secrets).max_body_bytes == 25 * 1024 * 1024


def test_production_refuses_the_development_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_ENV", "production")
    # The platform's secrets are strong: the connector's own placeholders are what is refused.
    monkeypatch.setenv("SWITCHBOARD_PSEUDONYM_SECRET", "a-real-pseudonym-secret")
    with pytest.raises(ValueError, match="EMAIL_MAILGUN_SIGNING_KEY still holds"):
        EmailSettings()
    # Production secrets are at least 16 characters long.
    real = {
        "EMAIL_MAILGUN_SIGNING_KEY": "key-real-0123456789",
        "EMAIL_SENDGRID_PASSWORD": "real-sendgrid-password",
        "EMAIL_POSTMARK_PASSWORD": "real-postmark-password",
        "EMAIL_MIME_TOKEN": "real-mime-token-0123",
    }
    for name, value in real.items():
        monkeypatch.setenv(name, value)
    assert EmailSettings().mime_token.get_secret_value() == "real-mime-token-0123"
