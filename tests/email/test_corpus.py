"""The .eml corpus through the raw MIME endpoint into the real broker, checked field by field.

`corpus/expected.json` states, for each message, what the published event must say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.email.support import bearer, mime_event_id, published, too_old

CORPUS = Path(__file__).parent / "corpus"
EXPECTED: dict[str, dict[str, Any]] = json.loads((CORPUS / "expected.json").read_text())


@pytest.fixture(scope="module")
async def corpus_events(broker: str, email_client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Each corpus file's published event, by file name."""
    answers: dict[str, dict[str, Any]] = {}
    for name in EXPECTED:
        response = await email_client.post(
            "/inbound/mime",
            content=(CORPUS / name).read_bytes(),
            headers={"Content-Type": "message/rfc822", **bearer()},
        )
        assert response.status_code == 200, f"{name}: {response.text}"
        answers[name] = response.json()
    events = await published(broker, {answer["event_id"] for answer in answers.values()})
    return {name: events[answer["event_id"]] for name, answer in answers.items()}


def test_the_corpus_is_large_and_every_file_has_expectations() -> None:
    files = {path.name for path in CORPUS.glob("*.eml")}
    assert len(files) >= 30
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message(name: str, corpus_events: dict[str, dict[str, Any]]) -> None:
    expected = EXPECTED[name]
    event = corpus_events[name]
    content = event.get("content", {})
    address, display_name = expected["customer"]
    # No corpus mail carries a passing Authentication-Results: none is a verified sender.
    customer = {"id": address, "kind": "email", "verified": False}
    if display_name is not None:
        customer["display_name"] = display_name
    assert event["event_id"] == mime_event_id("mime", expected["raw_ref"])
    assert (event["type"], event["channel"], event["provider"], event["direction"]) == (
        "message.received",
        "email",
        "mime",
        "inbound",
    )
    assert event["customer"] == customer
    assert event["conversation_key"] == expected["conversation_key"]
    assert event["raw_ref"] == expected["raw_ref"]
    # The corpus mails are older than the connector's EMAIL_DATE_MAX_AGE_S (a day): each
    # takes the time received, and the warning says which Date the header held.
    assert event["occurred_at"] == event["received_at"]
    warnings = list(expected["warnings"])
    if "date" in expected:
        warnings.append(too_old(expected["date"]))
    assert event["automated"] is expected["automated"]
    assert event["provider_meta"].get("automated_reason") == expected.get("automated_reason")
    assert event["parse_warnings"] == warnings
    assert content.get("subject") == expected["subject"]
    assert content.get("text") == expected["text"]
    assert content.get("stripped_text") == expected["stripped_text"]
    assert content["html"] is expected["html"]
    assert content.get("in_reply_to") == expected.get("in_reply_to")
    # Where the bytes are damaged, only what the sender declared is asserted.
    attachments = [
        {key: got.get(key) for key in wanted}
        for got, wanted in zip(content["attachments"], expected["attachments"], strict=False)
    ]
    assert len(content["attachments"]) == len(expected["attachments"])
    assert attachments == expected["attachments"]


def test_a_thread_of_replies_shares_the_root_conversation(
    corpus_events: dict[str, dict[str, Any]],
) -> None:
    thread = [
        "01_thread_root_plain.eml",
        "02_thread_reply_quoted_signature.eml",
        "03_thread_reply_outlook_cp1252_qp.eml",
        "04_thread_reply_truncated_references.eml",
        "15_auto_reply_auto_submitted.eml",
    ]
    keys = {corpus_events[name]["conversation_key"] for name in thread}
    assert keys == {"email:thread-4711@mail.example.org"}
    assert [corpus_events[name]["automated"] for name in thread] == [False] * 4 + [True]
