"""Occupancy from work: agents' activity intervals (docs/design.md, "KPI formulas").

Routing announces each agent's activity (``agent.activity_changed``) overall and per
channel: ``handling`` (at least one contact), ``wrap_up``, ``idle`` (available, nothing to
do) or ``off``. Each interval between two changes of one scope adds its milliseconds to
``agent_<state>`` (overall, no channel or queue) or ``channel_<state>`` (with the channel
and the queue routing named), split over the buckets it crosses. A change arriving late is
inserted between its neighbours, so any order of arrival gives the same sums.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.contributions import Deltas
from services.metrics.repository import activity
from shared.events import RoutingEvent

#: The states occupancy counts; ``off`` feeds no KPI.
COUNTED = ("handling", "wrap_up", "idle")


def add_interval(
    deltas: Deltas, start: datetime, end: datetime, change: Any, *, sign: int = 1
) -> None:
    """Count ``[start, end)`` spent in ``change``'s state (a row or a dict of its columns)."""
    state, scope = change.state, change.scope
    if state not in COUNTED:
        return
    if scope == "":
        deltas.add_interval(start, end, f"agent_{state}", agent=change.agent_id, sign=sign)
    else:
        deltas.add_interval(
            start,
            end,
            f"channel_{state}",
            agent=change.agent_id,
            channel=scope,
            queue=change.queue,
            sign=sign,
        )


class _Change:
    def __init__(self, agent_id: str, scope: str, state: str, queue: str) -> None:
        self.agent_id, self.scope, self.state, self.queue = agent_id, scope, state, queue


async def record_change(session: AsyncSession, event: RoutingEvent, deltas: Deltas) -> None:
    """Insert the change between its neighbours: the interval before it is cut in two."""
    if event.agent_id is None or event.agent_status is None:
        return
    scope = event.channel.value if event.channel is not None else ""
    new = _Change(event.agent_id, scope, event.agent_status, event.queue or "")
    at = event.occurred_at
    inserted = await activity.insert_change(
        session,
        agent_id=new.agent_id,
        scope=scope,
        changed_at=at,
        state=new.state,
        queue=new.queue,
    )
    if not inserted:
        return
    before, after = await activity.neighbours(
        session, agent_id=new.agent_id, scope=scope, changed_at=at
    )
    if before is not None:
        if after is not None:
            add_interval(deltas, before.changed_at, after.changed_at, before, sign=-1)
        add_interval(deltas, before.changed_at, at, before)
    if after is not None:
        add_interval(deltas, at, after.changed_at, new)


async def rebuild(session: AsyncSession, deltas: Deltas) -> int:
    """Add every recorded interval to ``deltas``; how many changes there were."""
    count = 0
    previous: Any = None
    async for row in activity.all_changes(session):
        count += 1
        if previous is not None and (previous.agent_id, previous.scope) == (
            row.agent_id,
            row.scope,
        ):
            add_interval(deltas, previous.changed_at, row.changed_at, previous)
        previous = row
    return count
