"""Open time of a scripted queue, minute by minute, straight from its opening hours.

Independent of ``Schedule.open_ms``: it walks the range one minute at a time and asks, in
the queue's own time zone, whether that minute's weekday and clock time lie in an opening
interval on a day that is not a holiday.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shared.events import Schedule

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTE = timedelta(minutes=1)


def _clock(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _open_at(schedule: Schedule, minute: datetime) -> bool:
    local = minute.astimezone(ZoneInfo(schedule.time_zone))
    if local.date() in schedule.holidays:
        return False
    clock = local.hour * 60 + local.minute
    intervals = schedule.hours.get(WEEKDAYS[local.weekday()], [])  # type: ignore[call-overload]
    return any(_clock(start) <= clock < _clock(end) for start, end in intervals)


def open_ms(schedule: Schedule | None, start: datetime, end: datetime) -> int:
    """Milliseconds of ``[start, end)`` while the queue was open (all of it without hours)."""
    if end <= start:
        return 0
    if schedule is None:
        return round((end - start).total_seconds() * 1000)
    total = 0
    minute = start.replace(second=0, microsecond=0)
    while minute < end:
        if _open_at(schedule, minute):
            piece = min(end, minute + MINUTE) - max(start, minute)
            total += round(piece.total_seconds() * 1000)
        minute += MINUTE
    return total
