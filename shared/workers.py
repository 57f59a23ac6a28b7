"""A background worker that runs one coroutine every few seconds until the service stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from shared.kafka import is_transient
from shared.tasks import finish

__all__ = ["PeriodicWorker"]

log = logging.getLogger(__name__)


class PeriodicWorker:
    """Calls ``job`` every ``interval_s`` seconds; a failure is logged and tried again next time.

    It has the shape ``Runtime.add_worker`` expects (``name``, ``running``,
    ``start``, ``stop``).
    """

    def __init__(
        self, *, name: str, interval_s: float, job: Callable[[], Awaitable[object]]
    ) -> None:
        self._name = name
        self._interval_s = interval_s
        self._job = job
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        self._stopping.set()
        await finish(self._task, 10)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._job()
            except Exception as exc:
                if is_transient(exc):
                    log.warning("%s: transient failure", self._name, extra={"error": repr(exc)})
                else:
                    log.exception("%s failed", self._name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval_s)
