"""Drill: Postgres stops (fast shutdown) under a stream of webhooks and comes back seconds later.

Nothing is restarted but Postgres: the consumers must wait, retry and resume by themselves.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
import pytest

from tests.drills.support import (
    WHOLE_STACK,
    drill_tag,
    eventually,
    metrics_counts,
    offers_made,
    offers_on_topic,
    own_broker,
    own_postgres,
    post_message,
    queue_with_agents,
    ready_checks,
    retry_refused,
    services_on,
)

PER_SECOND, OUTAGE_S, AFTER_S = 20, 6.0, 4.0
AGENTS, CAPACITY = 40, 20  # room for every conversation's offer


class Stream:
    """Signed messages at a steady pace, from a background task, until stopped."""

    def __init__(self, client: httpx.AsyncClient, tag: str) -> None:
        self.client, self.tag = client, tag
        self.statuses: dict[int, int] = {}
        self._stop = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            self.statuses[n] = await post_message(self.client, self.tag, n)
            n += 1
            await asyncio.sleep(1 / PER_SECOND)

    async def stop(self) -> dict[int, int]:
        self._stop.set()
        await self._task
        return self.statuses


async def until(probe: Callable[[], Awaitable[tuple[int, int]]], *, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (await probe())[0] == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)


@pytest.mark.timeout(300)
async def test_postgres_restarted_under_load_counts_and_offers_each_message_once() -> None:
    tag = drill_tag()
    async with own_postgres() as (postgres, database_url):
        with own_broker() as broker:
            async with (
                services_on(broker, database_url, **WHOLE_STACK) as (_, procs),
                httpx.AsyncClient(base_url=procs["chat"].base_url, timeout=30) as client,
            ):
                pids = {name: process.popen.pid for name, process in procs.items()}
                await queue_with_agents(
                    procs["routing"].base_url, tag, agents=AGENTS, capacity=CAPACITY
                )
                stream = Stream(client, tag)
                # Stop Postgres once both consumers are committing the stream.
                await until(lambda: metrics_counts(database_url, tag))
                await until(lambda: offers_made(database_url, tag))
                counted_before, _ = await metrics_counts(database_url, tag)
                await asyncio.to_thread(postgres.shutdown, "fast")
                sent_at_shutdown = len(stream.statuses)
                await asyncio.sleep(OUTAGE_S / 2)
                down = await ready_checks(procs)
                await asyncio.sleep(OUTAGE_S / 2)
                await asyncio.to_thread(postgres.start)
                sent_at_restart = len(stream.statuses)
                await asyncio.sleep(AFTER_S)
                try:
                    statuses = await stream.stop()
                except httpx.TransportError as exc:
                    codes = {name: p.popen.poll() for name, p in procs.items()}
                    raise AssertionError(f"chat unreachable ({exc!r}); exit codes {codes}") from exc
                seen = await retry_refused(client, tag, statuses)

                total = len(statuses)
                assert 0 < counted_before < sent_at_shutdown < sent_at_restart < total
                assert down["routing"] == down["metrics"] == 503, "the outage went unnoticed"
                assert not any(status >= 500 and status != 503 for status in seen), seen
                assert set(statuses.values()) == {202}

                # Every acknowledged message: one event and one conversation in metrics, one
                # conversation offered once by routing, one offer step on routing.v1.
                expected = (total, total)
                counts = await eventually(
                    lambda: metrics_counts(database_url, tag), expected, timeout=150
                )
                assert counts == expected
                offers = await eventually(lambda: offers_made(database_url, tag), expected)
                assert offers == expected
                offered = await offers_on_topic(broker.bootstrap, tag, at_least=total)
                assert len({e.event_id for e in offered}) == total
                assert len({e.conversation_id for e in offered}) == total

                # They recovered by themselves: the same processes, all ready again.
                assert {name: p.popen.pid for name, p in procs.items()} == pids
                assert all(p.popen.poll() is None for p in procs.values())
                assert set((await ready_checks(procs)).values()) == {200}
