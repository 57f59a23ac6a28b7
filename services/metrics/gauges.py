"""Live gauges on /metrics: backlog, longest wait, agents by status, last hour's service level."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import Gauge

from services.metrics import kpis, repository
from services.metrics.repository import Filters
from shared.db import Database

log = logging.getLogger(__name__)

BACKLOG_OPEN = Gauge("switchboard_backlog_open", "Open conversations.")
BACKLOG_WAITING = Gauge("switchboard_backlog_waiting", "Conversations waiting for an agent.")
LONGEST_WAIT = Gauge(
    "switchboard_backlog_longest_wait_seconds", "How long the oldest waiting conversation waits."
)
AGENTS = Gauge("switchboard_agents", "Agents per current status.", ["status"])
SERVICE_LEVEL = Gauge(
    "switchboard_service_level_last_hour_percent",
    "Answered within T over answered + abandoned - short abandons, over the last 60 minutes.",
)
KNOWN_STATUSES = ("available", "busy", "away", "offline")


async def refresh(database: Database, now: datetime) -> None:
    """Read the live numbers once and set the gauges."""
    hour = Filters(granularity="minute", start=now - timedelta(minutes=60), end=now)
    async with database.transaction() as session:
        open_, waiting, oldest = await repository.backlog(
            session, channel=None, queue=None, agent=None
        )
        statuses = await repository.agents_by_status(session)
        rows = await repository.bucket_sums(session, hour)
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


class GaugeRefresher:
    """A worker that refreshes the gauges every ``interval_s`` seconds."""

    def __init__(self, database: Database, interval_s: float) -> None:
        self._database = database
        self._interval_s = interval_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return "gauges"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metrics:gauges")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await refresh(self._database, datetime.now(UTC))
            except Exception as exc:
                # A database hiccup must not kill the gauges: the next round retries.
                log.warning("gauge refresh failed", extra={"error": repr(exc)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)
