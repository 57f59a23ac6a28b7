"""Bad input gets a 4xx naming the problem; readable-in-part mail is published with warnings."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.email.support import SENDGRID_AUTH, basic, bearer, mime_event_id, published

pytestmark = pytest.mark.usefixtures("stack_env")


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 422, "the message is empty"),
        (b"\x00\xff\xfe garbage without any header line", 422, "the message has no headers"),
        (
            b"To: support@example.com\nSubject: nobody sent this\n\nhello\n",
            422,
            "the message names no sender address",
        ),
    ],
)
async def test_unreadable_mime_gets_422(
    email_client: httpx.AsyncClient, body: bytes, status: int, message: str
) -> None:
    response = await email_client.post("/inbound/mime", content=body, headers=bearer())
    assert response.status_code == status, response.text
    assert response.json()["message"] == message


async def test_a_form_endpoint_refuses_a_body_that_is_no_form(
    email_client: httpx.AsyncClient,
) -> None:
    response = await email_client.post(
        "/inbound/sendgrid",
        content=b'{"email": "x"}',
        headers={"Content-Type": "application/json", **basic(*SENDGRID_AUTH)},
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"] == {"field": "Content-Type", "got": "application/json"}


async def test_postmark_json_of_the_wrong_shape_names_the_field(
    email_client: httpx.AsyncClient,
) -> None:
    user_pass = basic("postmark", "inbound-pass")
    response = await email_client.post(
        "/inbound/postmark", content=b'{"Headers": "not a list"}', headers=user_pass
    )
    # 403: Postmark's "do not retry" (test_provider_answers.py), with the body of a 400.
    assert response.status_code == 403, response.text
    assert response.json()["error"] == "bad_request"
    assert response.json()["detail"][0]["field"] == "Headers"


async def test_a_message_readable_in_part_is_published_with_its_warnings(
    broker: str, email_client: httpx.AsyncClient
) -> None:
    message_id = f"partial-{uuid.uuid4().hex}@example.com"
    body = (
        f"Message-ID: <{message_id}>\nFrom: Ann <ann@example.com>\nDate: 31 Foo 2025\n"
        "Subject: =?unknown-8bit?Q?caf=E9?=\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n\n--b\n'
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        "SGVsbG8gd29ybGQ\n--b\n"
        "Content-Type: application/pdf; name=a.pdf\nContent-Transfer-Encoding: base64\n\n"
        "JVBERi0=\n"
    ).encode()
    response = await email_client.post("/inbound/mime", content=body, headers=bearer())
    assert response.status_code == 200, response.text
    event_id = mime_event_id("mime", message_id)
    event = (await published(broker, {event_id}))[event_id]
    assert event["content"]["text"] == "Hello world"
    assert event["content"]["subject"] == "café"
    assert event["content"]["attachments"][0]["name"] == "a.pdf"
    assert event["occurred_at"] == event["received_at"]
    assert event["parse_warnings"] == response.json()["parse_warnings"]
    assert "unreadable Date header: occurred_at is the time received" in event["parse_warnings"]
    assert "mime defect: CloseBoundaryNotFoundDefect" in event["parse_warnings"]
    assert "Subject header: unknown charset 'unknown-8bit'" in event["parse_warnings"]
