"""Live gauges on /metrics: backlog, longest wait, agents by status, last hour's service level."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from prometheus_client import Gauge

from services.metrics import kpis
from services.metrics.repository import reads
from services.metrics.repository.reads import Filters
from shared.clock import utc_now
from shared.db import Database
from shared.workers import PeriodicWorker

# Every worker process reads the same numbers from the database: with several, /metrics
# shows the largest of the live ones (they differ only by when each last refreshed).
LIVE: Final = "livemax"
BACKLOG_OPEN = Gauge("switchboard_backlog_open", "Open conversations.", multiprocess_mode=LIVE)
BACKLOG_WAITING = Gauge(
    "switchboard_backlog_waiting", "Conversations waiting for an agent.", multiprocess_mode=LIVE
)
LONGEST_WAIT = Gauge(
    "switchboard_backlog_longest_wait_seconds",
    "How long the oldest waiting conversation waits.",
    multiprocess_mode=LIVE,
)
AGENTS = Gauge(
    "switchboard_agents", "Agents per current status.", ["status"], multiprocess_mode=LIVE
)
SERVICE_LEVEL = Gauge(
    "switchboard_service_level_last_hour_percent",
    "Answered within T over answered + abandoned - short abandons, over the last 60 minutes.",
    multiprocess_mode=LIVE,
)
KNOWN_STATUSES = ("available", "busy", "away", "offline")


async def refresh(database: Database, now: datetime) -> None:
    """Read the live numbers once and set the gauges."""
    hour = Filters(granularity="minute", start=now - timedelta(minutes=60), end=now)
    async with database.transaction() as session:
        open_, waiting, oldest = await reads.backlog(session, channel=None, queue=None, agent=None)
        statuses = await reads.agents_by_status(session)
        rows = await reads.bucket_sums(session, hour)
    BACKLOG_OPEN.set(open_)
    BACKLOG_WAITING.set(waiting)
    LONGEST_WAIT.set(0 if oldest is None else (now - oldest).total_seconds())
    for status in {*KNOWN_STATUSES, *statuses}:
        AGENTS.labels(status).set(statuses.get(status, 0))
    sums: dict[str, tuple[int, int]] = {}
    for _, measure, n, total in rows:
        previous = sums.get(measure, (0, 0))
        sums[measure] = (previous[0] + n, previous[1] + total)
    level = kpis.compute(sums, None)["service_level"].value
    SERVICE_LEVEL.set(float("nan") if level is None else level)


def gauge_refresher(database: Database, interval_s: float) -> PeriodicWorker:
    """A worker that refreshes the gauges every ``interval_s`` seconds."""

    async def refresh_now() -> None:
        await refresh(database, utc_now())

    return PeriodicWorker(name="gauges", interval_s=interval_s, job=refresh_now)
