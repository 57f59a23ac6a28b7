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
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from services.routing.lifecycle import NOTICE_CHANNEL
from services.routing.repository.notices import Notice
from shared.db import async_url

log = logging.getLogger(__name__)

#: Put in every stream when the service stops, so open streams end.
CLOSED: Notice = {"type": "closed"}


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
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    @property
    def name(self) -> str:
        return "agent-feed"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="agent-feed")

    async def stop(self) -> None:
        self._stopping.set()
        for streams in self._streams.values():
            for stream in streams:
                stream.put_nowait(CLOSED)
        if self._task is not None:
            await self._task

    @contextlib.contextmanager
    def subscribe(self, agent_id: str) -> Iterator[asyncio.Queue[Notice]]:
        """A queue of the agent's notices while the block runs."""
        stream: asyncio.Queue[Notice] = asyncio.Queue(maxsize=1000)
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
