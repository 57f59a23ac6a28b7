"""Mail an anonymous sender shapes to make the connector work hard is bounded or refused."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services.email.app import create_app
from tests.email.support import bearer, mime_event_id, published, settings_for
from tests.support.server import serving

pytestmark = pytest.mark.usefixtures("stack_env")

MAX_HTML_CHARS = 100_000
MAX_MIME_PARTS = 50


@pytest.fixture(scope="module")
async def bounded_client(
    stack_env: None, fixture_secrets: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """A connector with small limits, so the attacks stay small and the tests fast."""
    settings = settings_for(
        fixture_secrets, max_html_chars=MAX_HTML_CHARS, max_mime_parts=MAX_MIME_PARTS
    )
    async with (
        serving(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


def _mail(message_id: str, content_type: str, body: str) -> bytes:
    return (
        f"Message-ID: <{message_id}>\nDate: Mon, 3 Mar 2025 10:00:00 +0000\n"
        f"From: Pat <pat@example.com>\nTo: support@example.com\nSubject: Test\n"
        f"Content-Type: {content_type}\n\n{body}\n"
    ).encode()


async def test_html_past_the_limit_is_cut_with_a_warning(
    broker: str, bounded_client: httpx.AsyncClient
) -> None:
    # Many tags on one line: the converter used to copy the line once per tag.
    message_id = f"{uuid.uuid4()}@html.example"
    html = "<p>" + "<b>x</b>" * (MAX_HTML_CHARS // 4) + "</p>"
    response = await bounded_client.post(
        "/inbound/mime", content=_mail(message_id, "text/html", html), headers=bearer()
    )
    assert response.status_code == 200, response.text
    warning = f"HTML cut to {MAX_HTML_CHARS} characters before conversion to text"
    assert warning in response.json()["parse_warnings"]
    event_id = mime_event_id("mime", message_id)
    event = (await published(broker, {event_id}))[event_id]
    assert event["content"]["html"] is True
    assert 0 < len(event["content"]["text"]) <= MAX_HTML_CHARS // len("<b>x</b>") + 1


async def test_a_mail_of_too_many_mime_parts_is_refused_before_it_is_parsed(
    bounded_client: httpx.AsyncClient,
) -> None:
    parts = "".join("--B\nContent-Type: text/plain\n\nx\n" for _ in range(MAX_MIME_PARTS + 1))
    mail = _mail(f"{uuid.uuid4()}@parts.example", 'multipart/mixed; boundary="B"', parts + "--B--")
    response = await bounded_client.post("/inbound/mime", content=mail, headers=bearer())
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "too_many_parts"
    assert response.json()["detail"] == {"max_parts": MAX_MIME_PARTS}


async def test_a_mail_under_the_part_limit_and_full_of_dash_lines_is_read(
    bounded_client: httpx.AsyncClient,
) -> None:
    # Lines starting with "--" that name no declared boundary are text, not parts.
    text = "\n".join(f"-- comment {n}" for n in range(MAX_MIME_PARTS * 4))
    body = f"--B\nContent-Type: text/plain\n\n{text}\n--B--"
    mail = _mail(f"{uuid.uuid4()}@dashes.example", "multipart/mixed; boundary=B", body)
    response = await bounded_client.post("/inbound/mime", content=mail, headers=bearer())
    assert response.status_code == 200, response.text
