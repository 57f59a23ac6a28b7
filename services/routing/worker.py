"""The background worker: matcher passes and timers, until the service stops."""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta

from services.routing import wrapup
from services.routing.matching import Matcher
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.db import Database
from shared.kafka import is_transient

log = logging.getLogger(__name__)

Pass = Callable[[UnitOfWork], Awaitable[int]]


class RoutingWorker:
    """Runs every routing pass in its own transaction; again at once while there is work."""

    def __init__(
        self,
        *,
        database: Database,
        matcher: Matcher,
        interval_s: float,
        published: Callable[[], None],
        notices_kept_s: float,
    ) -> None:
        self._database = database
        self._matcher = matcher
        self._interval_s = interval_s
        self._notices_kept_s = notices_kept_s
        self._published = published
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        #: What this instance did, by pass (offers made, offers timed out...).
        self.done: Counter[str] = Counter()

    @property
    def name(self) -> str:
        return "routing-worker"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="routing-worker")

    def wake(self) -> None:
        """Look for work now (a conversation was queued, an agent freed room)."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def run_once(self, *, timers: bool = True) -> int:
        """One round of the passes (the timers too when ``timers``); how many things changed.

        New work is matched first; the timers (offer and reply timeouts, overflow, the agent
        streams' replay window) only look at the clock, so they run once per interval rather
        than on every wake.
        """
        m = self._matcher
        passes: list[Pass] = [m.assign_waiting, m.place_unplaced]
        if timers:
            passes += [
                m.expire_offers,
                m.reply_timeouts,
                m.overflow,
                self.end_wrap_ups,
                self.forget_old_notices,
            ]
        changed = 0
        for routing_pass in passes:
            uow = UnitOfWork(self._database, published=self._published)
            count = await uow.run(routing_pass)
            self.done[routing_pass.__name__] += count
            changed += count
        return changed

    async def end_wrap_ups(self, uow: UnitOfWork) -> int:
        """End the wrap-ups whose time is up; their agents take offers on the channel again."""
        return await wrapup.end_due(uow, limit=100)

    async def forget_old_notices(self, uow: UnitOfWork) -> int:
        """Delete agent notices older than the streams' replay window."""
        return await uow.notices.forget_before(utc_now() - timedelta(seconds=self._notices_kept_s))

    async def _run(self) -> None:
        delay = self._interval_s
        timers_due = 0.0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._wake.clear()
            timers = loop.time() >= timers_due
            try:
                changed = await self.run_once(timers=timers)
                delay = self._interval_s
                if timers:
                    timers_due = loop.time() + self._interval_s
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("routing pass failed")
                changed = 0
                delay = min(delay * 2, 5.0)
                timers_due = loop.time() + delay
            if changed:
                continue
            timeout = min(delay, max(timers_due - loop.time(), 0.0))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
