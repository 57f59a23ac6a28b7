"""Asterisk ``Master.csv`` CDRs: one row a call, read as a stream of any size."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
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

#: The longest line read by default; a longer one refuses the upload (a CDR is well under 1 KiB).
MAX_LINE_BYTES = 64 * 1024

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


class LineTooLong(ValueError):
    """A line past the bound: the upload is read no further, as the line may never end."""

    def __init__(self, number: int, limit: int) -> None:
        super().__init__(f"line {number} is longer than {limit} bytes")
        self.number = number
        self.limit = limit


@dataclass(frozen=True)
class Row:
    number: int  # 1-based line of the upload
    values: list[str]
    problem: str | None = None  # why the line is no CSV row at all


async def rows_of(
    chunks: AsyncIterator[bytes], *, max_line_bytes: int = MAX_LINE_BYTES
) -> AsyncIterator[Row]:
    """CSV rows of a streamed upload; :class:`LineTooLong` as soon as a line passes the bound."""
    pending = b""
    number = 0
    async for chunk in chunks:
        # Split the bytes, not the text: a newline byte is never part of a UTF-8 sequence.
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            number += 1
            if len(line) > max_line_bytes:
                raise LineTooLong(number, max_line_bytes)
            yield _row(number, line)
        if len(pending) > max_line_bytes:
            raise LineTooLong(number + 1, max_line_bytes)
    if pending.strip():
        yield _row(number + 1, pending)


def _row(number: int, line: bytes) -> Row:
    # One CDR is one line: Asterisk never writes a newline inside a field.
    text = line.decode("utf-8", errors="replace").rstrip("\r")
    try:
        return Row(number, next(csv.reader([text]), []))
    except csv.Error as exc:  # a carriage return or NUL inside the line
        return Row(number, [], f"is not CSV: {exc}")


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
