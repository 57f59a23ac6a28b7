"""Asterisk Master.csv uploads: streamed, reported row by row, never counted twice."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx

from shared.events import INTERACTIONS_TOPIC
from tests.phone.conftest import CDR_TOKEN
from tests.support.kafka import read_topic, values

AUTH = {"Authorization": f"Bearer {CDR_TOKEN}", "Content-Type": "text/csv"}


async def upload(phone: httpx.AsyncClient, body: bytes) -> dict[str, Any]:
    answer = await phone.post("/asterisk/cdr", content=body, headers=AUTH)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


async def test_the_fixture_cdrs_become_whole_calls(
    phone: httpx.AsyncClient, broker: str, provider_fixtures: Path
) -> None:
    body = (provider_fixtures / "phone" / "asterisk_master.csv").read_bytes()
    report = await upload(phone, body)
    assert [r["status"] for r in report["results"]] in (["accepted"] * 2, ["duplicate"] * 2)

    keys = {b"asterisk:1741000000.18", b"asterisk:1741000120.20"}
    records = await read_topic(
        broker, INTERACTIONS_TOPIC, until=lambda rs: sum(r.key in keys for r in rs) >= 5
    )
    answered = [v for v in values(records) if v["conversation_key"] == "asterisk:1741000000.18"]
    assert [e["type"] for e in answered] == ["call.started", "call.answered", "call.ended"]
    assert [e["occurred_at"] for e in answered] == [
        "2025-03-03T10:00:00Z",
        "2025-03-03T10:00:05Z",
        "2025-03-03T10:00:52Z",
    ]
    assert answered[2]["call"] == {
        "from_number": "+14155550199",
        "to_number": "6001",
        "queue_wait_seconds": 5.0,
        "talk_seconds": 47.0,
        "disposition": "answered",
    }
    assert answered[0]["customer"] == {"id": "+14155550199", "kind": "phone"}
    assert answered[0]["provider_meta"]["lastapp"] == "Dial"

    queued = [v for v in values(records) if v["conversation_key"] == "asterisk:1741000120.20"]
    assert [e["type"] for e in queued] == ["call.started", "call.ended"]
    # Hung up while waiting in the Queue application: an abandon after 41 s.
    assert queued[1]["call"]["disposition"] == "abandoned"
    assert queued[1]["call"]["queue_wait_seconds"] == 41.0


def cdr_rows(run: str, count: int, broken: dict[int, tuple[str, str]]) -> Iterator[list[str]]:
    """``count`` CDR rows; the rows numbered in ``broken`` get the named field spoiled."""
    for number in range(1, count + 1):
        answered = number % 3 != 0
        row = {
            "accountcode": "",
            "src": f"+1415555{number % 10000:04d}",
            "dst": "6001",
            "dcontext": "from-pstn",
            "clid": f'"Caller {number}" <+1415555{number % 10000:04d}>',
            "channel": f"PJSIP/trunk-{number:08x}",
            "dstchannel": "PJSIP/6001-00000001" if answered else "",
            "lastapp": "Dial" if answered else "Queue",
            "lastdata": "PJSIP/6001,30",
            "start": "2025-03-03 09:00:00",
            "answer": "2025-03-03 09:00:04" if answered else "",
            "end": "2025-03-03 09:01:00",
            "duration": "60",
            "billsec": "56" if answered else "0",
            "disposition": "ANSWERED" if answered else "NO ANSWER",
            "amaflags": "DOCUMENTATION",
            "uniqueid": f"{run}.{number}",
            "userfield": "",
        }
        if number in broken:
            field, value = broken[number]
            row[field] = value
        yield list(row.values())


def as_csv(rows: Iterator[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


async def test_ten_thousand_rows_with_broken_ones_get_an_exact_report_and_no_repeat(
    phone: httpx.AsyncClient, broker: str
) -> None:
    run = uuid.uuid4().hex[:10]
    broken = {
        17: ("start", "yesterday"),
        250: ("disposition", "EXPLODED"),
        999: ("billsec", "-3"),
        5000: ("uniqueid", ""),
        7321: ("end", "2025-03-03 08:00:00"),
        9999: ("duration", "sixty"),
    }
    body = as_csv(cdr_rows(run, 10_000, broken))
    body += b'"just","three","columns"\n'  # row 10,001

    report = await upload(phone, body)

    assert report["rows"] == 10_001
    assert report["rejected"] == 7
    assert report["accepted"] == 10_001 - 7
    assert report["duplicate"] == 0
    rejected = {
        r["row"]: (r["field"], r["problem"]) for r in report["results"] if r["status"] == "rejected"
    }
    assert {row: field for row, (field, _) in rejected.items()} == {
        17: "start", 250: "disposition", 999: "billsec", 5000: "uniqueid", 7321: "end",
        9999: "duration", 10_001: "row",
    }  # fmt: skip
    assert "EXPLODED" in rejected[250][1]
    assert [r["row"] for r in report["results"]] == list(range(1, 10_002))

    answered = sum(1 for n in range(1, 10_001) if n not in broken and n % 3 != 0)
    expected_events = 2 * (10_000 - 6) + answered
    prefix = f"asterisk:{run}.".encode()
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda rs: sum(r.key.startswith(prefix) for r in rs) >= expected_events,
        timeout=120,
    )
    mine = [r for r in records if r.key.startswith(prefix)]
    assert len(mine) == expected_events
    assert len({v["event_id"] for v in values(mine)}) == expected_events

    again = await upload(phone, body)
    assert (again["accepted"], again["duplicate"], again["rejected"]) == (0, 10_001 - 7, 7)
    records = await read_topic(
        broker, INTERACTIONS_TOPIC, until=lambda rs: len(rs) >= len(records), settle=2.0
    )
    assert sum(r.key.startswith(prefix) for r in records) == expected_events


async def test_an_upload_without_the_token_is_refused(phone: httpx.AsyncClient) -> None:
    answer = await phone.post(
        "/asterisk/cdr", content=b"x", headers={"Authorization": "Bearer nope"}
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"


HEADER = b"accountcode,src,dst\n"  # line 1, skipped


async def test_a_line_longer_than_the_bound_is_refused_naming_it(phone: httpx.AsyncClient) -> None:
    body = HEADER + b"a,b,c\n" + b"x," * 40_000 + b"\n" + b"a,b,c\n"  # line 3: 80,000 bytes

    answer = await phone.post("/asterisk/cdr", content=body, headers=AUTH)

    assert answer.status_code == 413, answer.text
    assert answer.json()["error"] == "payload_too_large"
    assert answer.json()["detail"] == {"line": 3, "max_line_bytes": 64 * 1024}


async def test_an_upload_that_never_ends_its_line_is_refused_unread(
    phone: httpx.AsyncClient,
) -> None:
    async def no_newline() -> AsyncIterator[bytes]:
        yield HEADER
        for _ in range(128):  # 8 MiB without a newline
            yield b"x" * (64 * 1024)

    answer = await phone.post("/asterisk/cdr", content=no_newline(), headers=AUTH)

    assert answer.status_code == 413, answer.text
    assert answer.json()["detail"] == {"line": 2, "max_line_bytes": 64 * 1024}


async def test_the_report_of_a_big_upload_lists_its_first_rows_and_counts_them_all(
    phone: httpx.AsyncClient,
) -> None:
    body = b"just,three,columns\n" * 25_000

    report = await upload(phone, body)

    assert (report["rows"], report["rejected"], report["accepted"]) == (25_000, 25_000, 0)
    assert [r["row"] for r in report["results"]] == list(range(1, 20_001))
    assert report["omitted"] == 5_000
