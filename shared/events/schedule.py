"""A queue's opening hours: time zone, weekly hours and holidays.

Routing keeps one per queue and puts it on the queue's ``conversation.queued`` and
``conversation.requeued`` steps, so metrics can stop the business-hours clocks while the
queue is closed without knowing routing's queues.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class Schedule(BaseModel):
    """Open from each ``[start, end)`` of the day's list (local "HH:MM", end up to "24:00"),
    closed on holidays and on days without hours."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    time_zone: str = Field(
        min_length=1, max_length=64, description="An IANA time zone, e.g. Europe/Paris."
    )
    hours: dict[Weekday, list[tuple[str, str]]] = Field(
        description='Per weekday (mon..sun), opening intervals: [["09:00", "12:30"], '
        '["13:30", "17:00"]]. A day not listed is closed.'
    )
    holidays: list[date] = Field(default_factory=list, max_length=1000)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("hours")
    @classmethod
    def _intervals(
        cls, value: dict[Weekday, list[tuple[str, str]]]
    ) -> dict[Weekday, list[tuple[str, str]]]:
        for day, intervals in value.items():
            if len(intervals) > 24:
                raise ValueError(f"{day}: at most 24 intervals")
            for start, end in intervals:
                if not (_CLOCK.match(start) and _CLOCK.match(end)):
                    raise ValueError(f"{day}: times are HH:MM (00:00 to 24:00)")
                if _minutes(start) >= _minutes(end):
                    raise ValueError(f"{day}: {start}-{end} does not end after it starts")
        return value

    @field_serializer("holidays")
    def _iso_dates(self, value: list[date]) -> list[str]:
        return [day.isoformat() for day in value]

    def _open_spans(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening intervals in UTC."""
        if day in self.holidays:
            return []
        zone = ZoneInfo(self.time_zone)
        midnight = datetime(day.year, day.month, day.day)
        spans = []
        for start, end in self.hours.get(WEEKDAYS[day.weekday()], []):
            local_start = (midnight + timedelta(minutes=_minutes(start))).replace(tzinfo=zone)
            local_end = (midnight + timedelta(minutes=_minutes(end))).replace(tzinfo=zone)
            spans.append((local_start.astimezone(UTC), local_end.astimezone(UTC)))
        return spans

    def open_ms(self, start: datetime, end: datetime) -> int:
        """Milliseconds of ``[start, end)`` during opening hours."""
        if end <= start:
            return 0
        zone = ZoneInfo(self.time_zone)
        day = start.astimezone(zone).date() - timedelta(days=1)
        last = end.astimezone(zone).date() + timedelta(days=1)
        total = timedelta()
        while day <= last:
            for span_start, span_end in self._open_spans(day):
                overlap = min(end, span_end) - max(start, span_start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return round(total.total_seconds() * 1000)

    def is_open(self, at: datetime) -> bool:
        day = at.astimezone(ZoneInfo(self.time_zone)).date()
        return any(
            start <= at < end
            for d in (day - timedelta(days=1), day)
            for start, end in self._open_spans(d)
        )
