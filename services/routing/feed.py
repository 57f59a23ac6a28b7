"""The live feed of agent notices: Postgres LISTEN, fanned out to each agent's streams.

Notices are sent with NOTIFY inside the transaction that made the change, so an
agent connected to any routing instance hears of it once it is committed. Each
carries its id in the ``agent_notice`` table, where a reconnecting stream finds
what it missed.
"""

import asyncio
import contextlib
import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from services.routing.lifecycle import NOTICE_CHANNEL
from services.routing.repository.notices import Notice
from shared.db import async_url

log = logging.getLogger(__name__)

#: Put in every stream when the service starts shutting down, so open streams end.
CLOSED: Notice = {"type": "closed"}

#: The signals on which uvicorn begins its graceful shutdown.
SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM)

Restore = Callable[[], None]


def on_shutdown_signal(callback: Callable[[], None]) -> Restore:
    """Run ``callback`` on the running loop when a shutdown signal arrives, then hand the
    signal on to the handler it replaced; returns what puts the replaced handlers back.

    Why here and not elsewhere: uvicorn waits for open responses *before* it runs the
    lifespan's shutdown, so a notice sent from there comes only after its graceful timeout.
    The app has no handle on uvicorn's ``Server.should_exit``, and on shutdown uvicorn only
    marks a busy connection not-keep-alive, so ``request.is_disconnected()`` never fires.
    Uvicorn catches these signals with ``signal.signal`` around the whole serve (lifespan
    included); chaining to its handler keeps its shutdown as it was. ``loop.add_signal_handler``
    would replace it instead. Outside the main thread (an app under a test client) signals
    cannot be caught and nothing is installed.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    replaced: dict[signal.Signals, Any] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(callback)
        previous = replaced[signal.Signals(signum)]
        previous(signum, frame)

    for sig in SHUTDOWN_SIGNALS:
        previous = signal.getsignal(sig)
        # A signal with no Python handler ends the process outright: nothing to chain to.
        if callable(previous):
            replaced[sig] = previous
            signal.signal(sig, handle)

    def restore() -> None:
        for sig, previous in replaced.items():
            signal.signal(sig, previous)

    return restore


def plain_dsn(database_url: str) -> str:
    """The database URL as asyncpg itself takes it."""
    url = make_url(async_url(database_url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


class AgentFeed:
    """Listens for agent notices and hands each to that agent's open streams."""

    def __init__(self, database_url: str) -> None:
        self._dsn = plain_dsn(database_url)
        self._streams: dict[str, set[asyncio.Queue[Notice]]] = {}
        self._stopping = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._restore_signals: Restore = lambda: None
        self.listening = asyncio.Event()

    @property
    def name(self) -> str:
        return "agent-feed"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="agent-feed")
        self._restore_signals = on_shutdown_signal(self.close_streams)

    async def stop(self) -> None:
        self._restore_signals()
        self._stopping.set()
        self.close_streams()
        if self._task is not None:
            await self._task

    def close_streams(self) -> None:
        """End every open stream, and any opened from now on: the service is shutting down."""
        if self._closing:
            return
        self._closing = True
        for streams in self._streams.values():
            for stream in streams:
                stream.put_nowait(CLOSED)

    @contextlib.contextmanager
    def subscribe(self, agent_id: str) -> Iterator[asyncio.Queue[Notice]]:
        """A queue of the agent's notices while the block runs."""
        stream: asyncio.Queue[Notice] = asyncio.Queue(maxsize=1000)
        if self._closing:
            stream.put_nowait(CLOSED)
        self._streams.setdefault(agent_id, set()).add(stream)
        try:
            yield stream
        finally:
            streams = self._streams.get(agent_id, set())
            streams.discard(stream)
            if not streams:
                self._streams.pop(agent_id, None)

    def _deliver(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        notice: Notice = json.loads(payload)
        for stream in self._streams.get(notice.get("agent_id", ""), set()):
            with contextlib.suppress(asyncio.QueueFull):
                stream.put_nowait(notice)

    async def _run(self) -> None:
        delay = 0.2
        while not self._stopping.is_set():
            try:
                connection = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("agent feed cannot reach the database", extra={"error": repr(exc)})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            try:
                await connection.add_listener(NOTICE_CHANNEL, self._deliver)
                self.listening.set()
                while not self._stopping.is_set() and not connection.is_closed():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), 1.0)
            finally:
                self.listening.clear()
                with contextlib.suppress(Exception):
                    await connection.close()
