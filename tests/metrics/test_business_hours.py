"""Opening hours: what a queue's schedule accepts and how much of a range it is open."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.events import Schedule
from tests.metrics import by_hand_hours

PARIS = Schedule(
    time_zone="Europe/Paris",
    hours={"mon": [("09:00", "12:30"), ("13:30", "17:00")], "sat": [("22:00", "24:00")]},
    holidays=[date(2026, 12, 28)],
)


def test_open_time_counts_only_the_opening_hours() -> None:
    monday = datetime(2026, 11, 30, tzinfo=UTC)  # 01:00 in Paris
    assert PARIS.open_ms(monday, monday + timedelta(days=1)) == 7 * 3600 * 1000
    assert PARIS.is_open(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))  # 09:00 in Paris
    assert not PARIS.is_open(datetime(2026, 11, 30, 11, 45, tzinfo=UTC))  # the lunch break
    # Until midnight on Saturday, which is Sunday 00:00 local.
    saturday_night = datetime(2026, 12, 5, 22, 59, tzinfo=UTC)
    assert PARIS.is_open(saturday_night)
    assert PARIS.open_ms(saturday_night, saturday_night + timedelta(hours=2)) == 60_000
    # A holiday Monday is closed all day.
    holiday = datetime(2026, 12, 28, tzinfo=UTC)
    assert PARIS.open_ms(holiday, holiday + timedelta(days=1)) == 0


def test_open_time_agrees_with_a_minute_by_minute_walk_across_clock_changes() -> None:
    rng = random.Random(7)
    zones = ("Europe/Paris", "America/New_York", "Australia/Adelaide")
    for zone in zones:
        schedule = Schedule(
            time_zone=zone,
            hours={
                "sun": [("10:00", "16:00")],
                "mon": [("00:00", "24:00")],
                "fri": [("09:00", "17:00")],
            },
            holidays=[date(2026, 3, 30)],
        )
        # Around the spring and autumn changes of both hemispheres.
        for anchor in (datetime(2026, 3, 28, tzinfo=UTC), datetime(2026, 10, 24, tzinfo=UTC)):
            for _ in range(20):
                start = anchor + timedelta(seconds=rng.randrange(0, 9 * 86400))
                end = start + timedelta(seconds=rng.randrange(0, 3 * 86400))
                assert schedule.open_ms(start, end) == by_hand_hours.open_ms(schedule, start, end)


def test_an_interval_across_a_clock_change_runs_from_its_start_to_its_end() -> None:
    night = Schedule(time_zone="America/New_York", hours={"sun": [("01:30", "03:30")]})
    spring = datetime(2026, 3, 8, tzinfo=UTC)  # 02:00 becomes 03:00: one hour open
    assert night.open_ms(spring, spring + timedelta(days=1)) == 3600 * 1000
    autumn = datetime(2026, 11, 1, tzinfo=UTC)  # 02:00 becomes 01:00 again: three hours
    assert night.open_ms(autumn, autumn + timedelta(days=1)) == 3 * 3600 * 1000


@pytest.mark.parametrize(
    "hours",
    [
        {"mon": [("17:00", "09:00")]},
        {"mon": [("9:00", "17:00")]},
        {"mon": [("09:00", "24:30")]},
        {"someday": [("09:00", "17:00")]},
    ],
)
def test_a_schedule_that_makes_no_sense_is_refused(hours: dict[str, list[tuple[str, str]]]) -> None:
    with pytest.raises(ValidationError):
        Schedule(time_zone="Europe/Paris", hours=hours)


def test_an_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        Schedule(time_zone="Mars/Olympus_Mons", hours={})
