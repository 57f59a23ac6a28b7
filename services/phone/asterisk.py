"""Asterisk ``Master.csv`` CDRs: one row a call, read as a stream of any size."""

from __future__ import annotations

import codecs
import csv
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from services.phone.calls import CallReport
from services.phone.numbers import to_e164
from shared.events import CallDisposition, Direction

#: cdr_csv's columns with loguniqueid and loguserfield on, in order.
COLUMNS = (
    "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
    "uniqueid", "userfield",
)  # fmt: skip

DISPOSITIONS = {
    "ANSWERED": CallDisposition.ANSWERED,
    "NO ANSWER": CallDisposition.MISSED,
    "BUSY": CallDisposition.BUSY,
    "FAILED": CallDisposition.FAILED,
    "CONGESTION": CallDisposition.FAILED,
}


class RowError(ValueError):
    """A CDR row that cannot be read; names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class Row:
    number: int  # 1-based line of the upload
    values: list[str]
    problem: str | None = None  # why the line is no CSV row at all


async def rows_of(chunks: AsyncIterator[bytes]) -> AsyncIterator[Row]:
    """CSV rows of a streamed upload, decoded as UTF-8 as they arrive."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    number = 0
    async for chunk in chunks:
        pending += decoder.decode(chunk)
        lines = pending.split("\n")
        pending = lines.pop()
        for values, problem in _parse(lines):
            number += 1
            yield Row(number, values, problem)
    pending += decoder.decode(b"", final=True)
    for values, problem in _parse([pending] if pending.strip() else []):
        number += 1
        yield Row(number, values, problem)


def _parse(lines: list[str]) -> Iterator[tuple[list[str], str | None]]:
    # One CDR is one line: Asterisk never writes a newline inside a field.
    for line in lines:
        try:
            yield next(csv.reader([line.rstrip("\r")]), []), None
        except csv.Error as exc:  # a carriage return or NUL inside the line
            yield [], f"is not CSV: {exc}"


def is_header(row: Row) -> bool:
    return row.number == 1 and [v.strip().lower() for v in row.values[:3]] == list(COLUMNS[:3])


def _time(value: str, field: str, *, required: bool) -> datetime | None:
    if not value.strip():
        if required:
            raise RowError(field, "missing")
        return None
    try:
        # cdr_csv writes local server time without a zone; servers for this run on UTC.
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        raise RowError(field, f"not a YYYY-MM-DD HH:MM:SS time: {value!r}") from None


def _seconds(value: str, field: str) -> int:
    try:
        seconds = int(value.strip())
    except ValueError:
        raise RowError(field, f"not a whole number of seconds: {value!r}") from None
    if seconds < 0:
        raise RowError(field, "negative")
    return seconds


def report_of(row: Row, *, region: str, received_at: datetime) -> CallReport:
    """The whole call one CDR row describes; :class:`RowError` when a field is wrong."""
    if row.problem is not None:
        raise RowError("row", row.problem)
    if len(row.values) not in (len(COLUMNS), len(COLUMNS) - 1):
        raise RowError("row", f"has {len(row.values)} columns, expected {len(COLUMNS)}")
    cdr = dict(zip(COLUMNS, row.values, strict=False))
    uniqueid = cdr["uniqueid"].strip()
    if not uniqueid:
        raise RowError("uniqueid", "missing")
    start = _time(cdr["start"], "start", required=True)
    answer = _time(cdr["answer"], "answer", required=False)
    end = _time(cdr["end"], "end", required=True)
    if start is None or end is None:  # unreachable: required times raise
        raise RowError("start", "missing")
    if end < start:
        raise RowError("end", "before start")
    _seconds(cdr["duration"], "duration")
    billsec = _seconds(cdr["billsec"], "billsec")
    disposition = DISPOSITIONS.get(cdr["disposition"].strip().upper())
    if disposition is None:
        raise RowError("disposition", f"unknown: {cdr['disposition']!r}")
    if disposition is CallDisposition.MISSED and cdr["lastapp"].strip() == "Queue":
        # The caller hung up while waiting in a queue: an abandon, not a missed call.
        disposition = CallDisposition.ABANDONED
    src, dst = cdr["src"].strip(), cdr["dst"].strip()
    if not src and not dst:
        raise RowError("src", "neither src nor dst is set")
    # An extension calling out is outbound; a real number calling in is inbound.
    outbound = to_e164(src, region=region) is None and to_e164(dst, region=region) is not None
    if not outbound and not src:
        raise RowError("src", "missing: an inbound call needs its caller")
    answered = disposition is CallDisposition.ANSWERED
    return CallReport(
        provider="asterisk",
        call_id=uniqueid,
        direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
        caller=src,
        callee=dst,
        reported_at=end,
        started_at=start,
        answered_at=answer if answered else None,
        ended_at=end,
        disposition=disposition,
        talk_seconds=float(billsec) if answered else None,
        provider_meta={
            key: cdr[key].strip()
            for key in ("clid", "channel", "dstchannel", "dcontext", "lastapp", "userfield")
            if cdr.get(key, "").strip()
        },
    )
