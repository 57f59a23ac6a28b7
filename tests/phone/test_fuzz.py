"""Property tests of the phone parsers: Twilio forms, Asterisk CDR rows and generic call logs,
real ones broken at random, give events that survive their own JSON or are refused (a 4xx, a
rejected row); never another exception (a 500)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from services.phone import asterisk, twilio
from services.phone.calls import CallReport, CallState, lifecycle_events
from services.phone.schemas import GenericCall
from services.phone.service import generic_report
from shared.clock import utc_now
from shared.errors import invalid_body
from shared.events import InteractionEvent
from tests.support.fixtures import FIXTURES
from tests.support.mutations import assert_events_or_4xx, json_values, mutated

REGION = "US"
FORMS = {
    name: parse_qsl((FIXTURES / "phone" / f"{name}.form").read_text().strip())
    for name in ("twilio_sms", "twilio_voice_status")
}
CDR_LINES = (FIXTURES / "phone" / "asterisk_master.csv").read_text().splitlines()
GENERIC_CALL = {
    "call_id": "c-1",
    "direction": "inbound",
    "from": "+14155550199",
    "to": "+14155550100",
    "started_at": "2026-03-03T10:00:00Z",
    "answered_at": "2026-03-03T10:00:05Z",
    "ended_at": "2026-03-03T10:00:52Z",
    "disposition": "answered",
    "queue_wait_seconds": 5,
    "talk_seconds": 47,
}
_CALLS = TypeAdapter(GenericCall | list[GenericCall])
text = st.text(max_size=40) | st.sampled_from(["", "-1", "1e400", "nan", "+1 (555) 0100", "x"])


def events_of_report(report: CallReport) -> list[InteractionEvent]:
    events, _ = lifecycle_events(report, CallState(), received_at=utc_now(), region=REGION)
    return events


def events_of_form(name: str, form: list[tuple[str, str]]) -> list[InteractionEvent]:
    if name == "twilio_sms":
        return [twilio.sms_event(form, received_at=utc_now(), region=REGION)]
    return events_of_report(twilio.voice_report(form, received_at=utc_now()))


def events_of_generic(body: bytes) -> list[InteractionEvent]:
    try:
        parsed = _CALLS.validate_json(body)
    except ValidationError as exc:
        raise invalid_body(exc) from None
    calls = parsed if isinstance(parsed, list) else [parsed]
    return [
        e for call in calls for e in events_of_report(generic_report(call, received_at=utc_now()))
    ]


@st.composite
def broken_forms(draw: st.DrawFn, form: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``form`` with a few values changed, fields dropped or repeated."""
    fields = list(form)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(fields) - 1)) if fields else 0
        action = draw(st.sampled_from(["value", "drop", "add"]))
        if action == "value" and fields:
            fields[index] = (fields[index][0], draw(text))
        elif action == "drop" and fields:
            del fields[index]
        else:
            key = draw(st.sampled_from([k for k, _ in form]) | st.text(max_size=10))
            fields.insert(index, (key, draw(text)))
    return fields


def test_the_fixtures_give_events() -> None:
    for name, form in FORMS.items():
        assert assert_events_or_4xx(events_of_form, name, form), name
    assert assert_events_or_4xx(events_of_generic, json.dumps(GENERIC_CALL).encode())


@pytest.mark.parametrize("name", sorted(FORMS))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_broken_twilio_form_gives_events_or_a_4xx(name: str, data: st.DataObject) -> None:
    assert_events_or_4xx(events_of_form, name, data.draw(broken_forms(FORMS[name])))


@settings(max_examples=150, deadline=None)
@given(
    call=st.one_of(
        mutated(GENERIC_CALL),
        st.lists(mutated(GENERIC_CALL), min_size=1, max_size=3),
        json_values,
    )
)
def test_a_broken_generic_call_log_gives_events_or_a_4xx(call: object) -> None:
    assert_events_or_4xx(events_of_generic, json.dumps(call).encode())


def cdr_rows(content: bytes, chunk: int) -> list[asterisk.Row]:
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), chunk):
            yield content[start : start + chunk]

    async def collect() -> list[asterisk.Row]:
        return [row async for row in asterisk.rows_of(chunks())]

    return asyncio.run(collect())


@st.composite
def broken_cdr(draw: st.DrawFn) -> bytes:
    """The Master.csv fixture with some cells changed or removed, lines cut or shuffled."""
    lines = list(CDR_LINES)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(lines) - 1))
        cells = lines[index].split(",")
        action = draw(st.sampled_from(["cell", "drop", "cut", "bytes"]))
        if action == "cell":
            cells[draw(st.integers(0, len(cells) - 1))] = draw(text).replace("\n", " ")
            lines[index] = ",".join(cells)
        elif action == "drop":
            del cells[draw(st.integers(0, len(cells) - 1))]
            lines[index] = ",".join(cells)
        elif action == "cut":
            lines[index] = lines[index][: draw(st.integers(0, len(lines[index])))]
        else:
            lines[index] = draw(st.binary(max_size=40)).decode("latin-1")
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@settings(max_examples=100, deadline=None)
@given(content=broken_cdr() | st.binary(max_size=300), chunk=st.integers(1, 64))
def test_a_broken_cdr_upload_gives_events_or_rejected_rows(content: bytes, chunk: int) -> None:
    received_at = datetime.now(UTC)
    for row in cdr_rows(content, chunk):
        if asterisk.is_header(row):
            continue
        try:
            report = asterisk.report_of(row, region=REGION, received_at=received_at)
        except asterisk.RowError:
            continue  # reported as a rejected row with its reason
        for event in events_of_report(report):
            assert InteractionEvent.from_json(event.to_json()) == event
