"""Threads: a reply that names only its parent still joins the conversation of the thread root."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.email.support import bearer, mime_event_id, published

pytestmark = pytest.mark.usefixtures("stack_env")


def _mail(message_id: str, *, in_reply_to: str | None = None, references: str = "") -> bytes:
    thread = f"In-Reply-To: <{in_reply_to}>\n" if in_reply_to else ""
    thread += f"References: {references}\n" if references else ""
    return (
        f"Message-ID: <{message_id}>\n{thread}Date: Mon, 3 Mar 2025 10:00:00 +0000\n"
        "From: Olga <olga@example.com>\nSubject: Re: Tracking\n\nStill waiting.\n"
    ).encode()


async def test_replies_without_references_land_in_the_root_conversation(
    broker: str, email_client: httpx.AsyncClient
) -> None:
    run = uuid.uuid4().hex
    root, second, third, fourth = (f"{n}-{run}@example.com" for n in ("a", "b", "c", "d"))
    mails = [
        _mail(root),
        _mail(second, in_reply_to=root, references=f"<{root}>"),
        # Some clients send In-Reply-To alone: the parent's conversation is looked up.
        _mail(third, in_reply_to=second),
        _mail(fourth, in_reply_to=third),
    ]
    keys = []
    for mail in mails:
        response = await email_client.post("/inbound/mime", content=mail, headers=bearer())
        assert response.status_code == 200, response.text
        keys.append(response.json()["conversation_key"])
    assert keys == [f"email:{root}"] * 4

    retry = await email_client.post("/inbound/mime", content=mails[2], headers=bearer())
    assert retry.json()["conversation_key"] == f"email:{root}"

    ids = {mime_event_id("mime", m) for m in (root, second, third, fourth)}
    events = await published(broker, ids)
    assert {event["conversation_key"] for event in events.values()} == {f"email:{root}"}
    assert events[mime_event_id("mime", fourth)]["content"]["in_reply_to"] == third


async def test_a_reply_to_an_unknown_parent_starts_from_that_parent(
    email_client: httpx.AsyncClient,
) -> None:
    parent = f"never-seen-{uuid.uuid4().hex}@example.com"
    response = await email_client.post(
        "/inbound/mime",
        content=_mail(f"orphan-{uuid.uuid4().hex}@example.com", in_reply_to=parent),
        headers=bearer(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["conversation_key"] == f"email:{parent}"
