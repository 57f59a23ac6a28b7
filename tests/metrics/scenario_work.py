"""The scripted day's after-contact work and agents' activity (occupancy from work).

Each draws from its own generator, so the rest of the day stays as it was.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.events import Channel, LifecycleStep, RoutingEvent, Schedule

if TYPE_CHECKING:
    from tests.metrics.scenario import Day, Script

#: (agent, scope) -> the scope's changes: (when, state, queue); scope '' is the agent overall.
Activity = dict[tuple[str, str], list[tuple[datetime, str, str]]]
STATES = ("handling", "handling", "wrap_up", "idle", "idle", "off")


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def schedule_of(s: Script) -> Schedule | None:
    """The opening hours of the script's queue: billing queues have some (email's has a
    holiday on the scripted day), general ones are always open."""
    if not s.queue.endswith("-billing"):
        return None
    if s.channel == "email":
        return Schedule(
            time_zone="Europe/Paris",
            hours={day: [("08:00", "20:00")] for day in WEEKDAYS},
            holidays=[s.opened_at.date()],
        )
    weekdays = {day: [("09:00", "12:00"), ("13:00", "17:30")] for day in WEEKDAYS[:5]}
    return Schedule(time_zone="America/New_York", hours=weekdays | {"sat": [("10:00", "14:00")]})


def script_wrap_ups(rng: random.Random, scripts: list[Script]) -> None:
    """Wrap-ups after some handled contacts: one after the first resolve (or the call's end),
    sometimes another after a later resolve, which handle time must not take."""
    for s in scripts:
        if s.answered_at is None or rng.random() < 0.4:
            continue
        ends = s.ended_at if s.ended_at is not None else min(s.resolves, default=None)
        if ends is None:
            continue
        ms = rng.randrange(0, 180_000)
        s.wrap_ups.append((ends + timedelta(milliseconds=ms), ms))
        if len(s.resolves) > 1:
            ms = rng.randrange(1_000, 180_000)
            s.wrap_ups.append((max(s.resolves) + timedelta(milliseconds=ms), ms))


def script_activity(
    rng: random.Random, day: datetime, agents: list[str], queues: list[str]
) -> Activity:
    """Each agent's activity overall and on two channels, from the morning to the evening."""
    activity: Activity = {}
    for agent in agents:
        for scope in ("", "chat", "email"):
            choices = [q for q in queues if q.startswith(f"{scope}-")] or [""]
            at = day + timedelta(seconds=7 * 3600 + rng.randrange(0, 3600))
            changes = [(at, "idle", rng.choice(choices) if scope else "")]
            for _ in range(rng.randrange(8, 20)):
                at += timedelta(seconds=rng.randrange(1, 2400), milliseconds=rng.randrange(1000))
                state = rng.choice(STATES)
                queue = rng.choice(choices) if scope else ""
                if (state, queue) != changes[-1][1:]:
                    changes.append((at, state, queue))
            changes.append((at + timedelta(seconds=1800), "off", changes[-1][2]))
            activity[(agent, scope)] = changes
    return activity


def wrap_up_events(s: Script) -> list[RoutingEvent]:
    return [
        RoutingEvent(
            event_id=uuid.uuid4(),
            type=LifecycleStep.WRAPPED_UP,
            occurred_at=at,
            conversation_id=uuid.uuid5(uuid.NAMESPACE_URL, s.key),
            conversation_key=s.key,
            channel=Channel(s.channel),
            queue=s.queue,
            agent_id=s.agent,
            wrap_up_seconds=ms / 1000,
        )
        for at, ms in s.wrap_ups
    ]


def activity_events(day: Day) -> list[RoutingEvent]:
    return [
        RoutingEvent(
            event_id=uuid.uuid4(),
            type=LifecycleStep.AGENT_ACTIVITY_CHANGED,
            occurred_at=at,
            agent_id=agent,
            agent_status=state,
            channel=Channel(scope) if scope else None,
            queue=queue or None,
        )
        for (agent, scope), changes in day.activity.items()
        for at, state, queue in changes
    ]
