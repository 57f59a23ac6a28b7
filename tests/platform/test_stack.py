"""`make run`'s launcher: everything comes up ready, and Ctrl-C leaves nothing running."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys

import httpx
import psutil

from switchboard_dev.ports import free_port, port_open
from switchboard_dev.services import SERVICES


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive ports nothing listens on."""
    while True:
        base = random.randrange(20_000, 40_000)
        if not any(port_open("127.0.0.1", base + i) for i in range(count)):
            return base


async def test_the_stack_starts_ready_and_stops_on_ctrl_c(database_url: str) -> None:
    base = free_port_run(len(SERVICES))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SWITCHBOARD_PORT_BASE": str(base),
        "SWITCHBOARD_KAFKA_PORT": str(free_port()),
    }
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    launcher = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "switchboard_dev.stack",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    output: list[str] = []

    async def collect() -> None:
        assert launcher.stdout is not None
        async for line in launcher.stdout:
            output.append(line.decode(errors="replace"))

    reader = asyncio.create_task(collect())
    children: list[psutil.Process] = []
    try:
        async with httpx.AsyncClient(timeout=3) as client:
            for port in range(base, base + len(SERVICES)):
                deadline = asyncio.get_running_loop().time() + 90
                while True:
                    try:
                        if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    assert asyncio.get_running_loop().time() < deadline, "".join(output[-40:])
                    await asyncio.sleep(0.3)
        children = psutil.Process(launcher.pid).children(recursive=True)
        printed = "".join(output)
        for offset, name in enumerate(SERVICES):
            assert f"http://127.0.0.1:{base + offset}/docs" in printed
            assert name in printed
    finally:
        os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        await asyncio.wait_for(launcher.wait(), 60)
        await reader
    assert len(children) >= len(SERVICES) + 2  # honcho, the broker, six services
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
