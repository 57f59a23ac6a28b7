"""A routing process asked to stop (SIGTERM) ends its agents' streams instead of holding
its shutdown until they run out, so its consumer and producer stop within the grace period."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from switchboard_dev.ports import free_port
from switchboard_dev.stack import service_command
from tests.routing.support import ADMIN_TOKEN

#: Well under the stream's own limit (300 s) and uvicorn's graceful timeout (20 s).
EXIT_WITHIN_S = 8.0


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    url: str
    log: Path


@pytest.fixture
def routing_process(stack_env: None, tmp_path: Path) -> Iterator[Served]:
    """Routing as a real uvicorn process, started the way ``make run`` starts it."""
    port = free_port()
    env = {**os.environ, "ROUTING_CONSUMER_GROUP": f"routing-shutdown-{port}"}
    log = tmp_path / "routing.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            shlex.split(service_command("routing", port)), env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _ready(url):
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "routing not ready:\n" + log.read_text()
            time.sleep(0.2)
        yield Served(process=process, url=url, log=log)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/readyz", timeout=2).is_success
    except httpx.HTTPError:
        return False


async def test_sigterm_ends_open_agent_streams_and_the_process_exits_promptly(
    routing_process: Served,
) -> None:
    process = routing_process.process
    async with httpx.AsyncClient(base_url=routing_process.url, timeout=10) as client:
        created = await client.post(
            "/admin/agents",
            json={"name": "stays connected", "status": "available"},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert created.status_code == 201, created.text
        token = created.json()["token"]

        headers = {"Authorization": f"Bearer {token}"}
        # No read timeout on the stream: the bounds below decide how long it may stay open.
        no_read_limit = httpx.Timeout(10, read=None)
        async with client.stream(
            "GET", "/agent/stream", headers=headers, timeout=no_read_limit
        ) as stream:
            assert stream.status_code == 200
            lines = stream.aiter_lines()
            async with asyncio.timeout(10):
                while await anext(lines) != "event: ready":
                    pass

            process.send_signal(signal.SIGTERM)
            started = time.monotonic()
            # The stream ends cleanly (its last chunk arrives): no read error, no hang.
            async with asyncio.timeout(EXIT_WITHIN_S):
                async for _ in lines:
                    pass
            ended_s = time.monotonic() - started

    returncode = await asyncio.to_thread(process.wait, EXIT_WITHIN_S)
    exited_s = time.monotonic() - started
    # After a graceful shutdown uvicorn raises the signal it caught again, so the process ends
    # by SIGTERM, as its supervisor expects; the lifespan's shutdown (consumer commits and
    # leaves its group, producer flushes) ran to its end first.
    assert returncode == -signal.SIGTERM
    assert ended_s < EXIT_WITHIN_S
    assert exited_s < EXIT_WITHIN_S
    log = routing_process.log.read_text()
    assert "Application shutdown complete." in log, log
    assert "timeout graceful shutdown exceeded" not in log, log
