"""Mail an anonymous sender shapes to make the connector work hard is bounded or refused."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from services.email.app import create_app
from shared.clock import utc_now
from tests.email.support import (
    bearer,
    mailgun_signature,
    mime_event_id,
    published,
    settings_for,
)
from tests.support.server import serving

pytestmark = pytest.mark.usefixtures("stack_env")

MAX_HTML_CHARS = 100_000
MAX_MIME_PARTS = 50
MAX_FORM_FIELDS = 100


@pytest.fixture(scope="module")
async def bounded_client(
    stack_env: None, fixture_secrets: dict[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """A connector with small limits, so the attacks stay small and the tests fast."""
    settings = settings_for(
        fixture_secrets,
        max_html_chars=MAX_HTML_CHARS,
        max_mime_parts=MAX_MIME_PARTS,
        max_form_fields=MAX_FORM_FIELDS,
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


async def test_a_boundary_split_over_rfc2231_continuations_is_counted_too(
    bounded_client: httpx.AsyncClient,
) -> None:
    # The parser joins boundary*0= and boundary*1= into one boundary.
    parts = "".join("--ABCD\nContent-Type: text/plain\n\nx\n" for _ in range(MAX_MIME_PARTS + 1))
    content_type = "multipart/mixed; boundary*0=AB; boundary*1=CD"
    mail = _mail(f"{uuid.uuid4()}@split.example", content_type, parts + "--ABCD--")
    response = await bounded_client.post("/inbound/mime", content=mail, headers=bearer())
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "too_many_parts"


async def test_a_mail_under_the_part_limit_and_full_of_dash_lines_is_read(
    bounded_client: httpx.AsyncClient,
) -> None:
    # Lines starting with "--" that name no declared boundary are text, not parts.
    text = "\n".join(f"-- comment {n}" for n in range(MAX_MIME_PARTS * 4))
    body = f"--B\nContent-Type: text/plain\n\n{text}\n--B--"
    mail = _mail(f"{uuid.uuid4()}@dashes.example", "multipart/mixed; boundary=B", body)
    response = await bounded_client.post("/inbound/mime", content=mail, headers=bearer())
    assert response.status_code == 200, response.text


def _multipart_form(fields: dict[str, str], filler: int) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [(name, value) for name, value in fields.items()]
    parts += [(f"f{n}", "x") for n in range(filler)]
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in parts
    )
    return f"{body}--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


async def test_an_unsigned_flood_of_form_fields_is_refused_while_others_are_served(
    bounded_client: httpx.AsyncClient,
) -> None:
    # 10,000 tiny fields: the whole form used to be parsed on the event loop (seconds of it)
    # before the signature was looked at.
    body, content_type = _multipart_form({}, filler=10_000)
    flood = asyncio.create_task(
        bounded_client.post(
            "/inbound/mailgun", content=body, headers={"Content-Type": content_type}
        )
    )
    # The server runs on this test's event loop: the longest gap between two answers of
    # /healthz is the longest time the loop was held.
    longest_gap, last = 0.0, time.monotonic()
    while not flood.done():
        health = await bounded_client.get("/healthz", timeout=5)
        assert health.status_code == 200
        longest_gap, last = max(longest_gap, time.monotonic() - last), time.monotonic()
        await asyncio.sleep(0.05)
    response = await flood
    assert longest_gap < 1.0
    # Refused for good, and Mailgun stops retrying only on 406.
    assert response.status_code == 406, response.text
    assert response.json()["error"] == "too_many_fields"
    assert response.json()["detail"] == {"max_fields": MAX_FORM_FIELDS}


async def test_a_signed_form_past_the_field_limit_is_refused(
    bounded_client: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    signed = mailgun_signature(fixture_secrets["mailgun_signing_key"])
    fields = {**signed, "from": "pat@example.com", "subject": "Hi", "body-plain": "Hello"}
    response = await bounded_client.post(
        "/inbound/mailgun", data={**fields, **{f"f{n}": "x" for n in range(MAX_FORM_FIELDS)}}
    )
    assert response.status_code == 406, response.text
    assert response.json()["error"] == "too_many_fields"


async def test_a_signed_multipart_form_under_the_limit_is_accepted(
    bounded_client: httpx.AsyncClient, fixture_secrets: dict[str, str]
) -> None:
    signed = mailgun_signature(fixture_secrets["mailgun_signing_key"])
    fields = {
        **signed,
        "message-headers": f'[["Message-ID", "<{uuid.uuid4()}@form.example>"]]',
        "from": "Pat <pat@example.com>",
        "subject": "Hi",
        "body-plain": "Hello",
    }
    body, content_type = _multipart_form(fields, filler=MAX_FORM_FIELDS - len(fields))
    response = await bounded_client.post(
        "/inbound/mailgun", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text


async def test_an_unsigned_form_gets_401_before_it_is_parsed(
    bounded_client: httpx.AsyncClient,
) -> None:
    body, content_type = _multipart_form({"from": "pat@example.com"}, filler=10)
    response = await bounded_client.post(
        "/inbound/mailgun", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(
    "offset",
    [timedelta(minutes=6), timedelta(days=2), timedelta(days=-2), timedelta(days=-365)],
    ids=str,
)
async def test_a_date_outside_the_window_does_not_move_occurred_at(
    broker: str, email_client: httpx.AsyncClient, offset: timedelta
) -> None:
    # A future-dated first mail would start the conversation late, so the first response
    # would look early; a backdated one would make it look as late as the sender likes.
    message_id = f"{uuid.uuid4()}@date.example"
    claimed = utc_now() + offset
    mail = _mail(message_id, "text/plain", "Hello").replace(
        b"Mon, 3 Mar 2025 10:00:00 +0000", format_datetime(claimed).encode()
    )
    before = utc_now()
    response = await email_client.post("/inbound/mime", content=mail, headers=bearer())
    after = utc_now()
    assert response.status_code == 200, response.text
    bound = "300 s after" if offset > timedelta(0) else "86400 s before"
    warning = (
        f"Date header {claimed.replace(microsecond=0).isoformat()} is more than {bound} "
        "the time received: occurred_at is the time received"
    )
    assert warning in response.json()["parse_warnings"]
    event_id = mime_event_id("mime", message_id)
    event = (await published(broker, {event_id}))[event_id]
    occurred = datetime.fromisoformat(event["occurred_at"])
    assert event["occurred_at"] == event["received_at"]
    assert before - timedelta(seconds=1) <= occurred <= after + timedelta(seconds=1)


@pytest.mark.parametrize("offset", [timedelta(seconds=100), timedelta(hours=-20)], ids=str)
async def test_a_date_within_the_skew_or_the_transit_time_is_kept(
    broker: str, email_client: httpx.AsyncClient, offset: timedelta
) -> None:
    # Mail can spend hours in transit: an earlier Date, up to a day, is the customer's.
    message_id = f"{uuid.uuid4()}@date.example"
    claimed = (utc_now() + offset).replace(microsecond=0)
    mail = _mail(message_id, "text/plain", "Hello").replace(
        b"Mon, 3 Mar 2025 10:00:00 +0000", format_datetime(claimed).encode()
    )
    response = await email_client.post("/inbound/mime", content=mail, headers=bearer())
    assert response.status_code == 200, response.text
    assert response.json()["parse_warnings"] == []
    event_id = mime_event_id("mime", message_id)
    event = (await published(broker, {event_id}))[event_id]
    assert datetime.fromisoformat(event["occurred_at"]) == claimed
