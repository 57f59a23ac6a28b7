"""The stack under test: the embedded broker, a database of the bench's own, uvicorn processes.

Everything runs as it does under ``make run``: each service is a real uvicorn process with
uvloop and httptools; the load comes from other processes on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from switchboard_dev import migrations
from switchboard_dev.broker import Broker
from switchboard_dev.ports import free_port
from switchboard_dev.postgres import PostgresServer, create_database, drop_database, locate_postgres

#: The metrics service's development admin token: every KPI read needs a token.
METRICS_READER = {"Authorization": "Bearer dev-metrics-admin-token"}

ROOT = Path(__file__).resolve().parent.parent
DATABASE_NAME = "switchboard_bench"
LOGS = Path(tempfile.gettempdir()) / "switchboard-bench-logs"


def uvicorn_command(app: str, port: int, *, workers: int = 1, factory: bool = True) -> list[str]:
    """The same uvicorn settings as ``make run``, with ``workers`` processes."""
    command = [sys.executable, "-m", "uvicorn"]
    if factory:
        command.append("--factory")
    command += [
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if workers > 1:
        command += ["--workers", str(workers)]
    return command


@dataclass
class Process:
    """One uvicorn server (and its workers) started by the bench."""

    name: str
    port: int
    popen: subprocess.Popen[bytes]
    peak_rss: int = 0
    _sampling: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> int:
        """Resident memory of the server and all its worker processes, in bytes."""
        try:
            root = psutil.Process(self.popen.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return 0
        total = 0
        for process in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total

    @contextlib.contextmanager
    def sampling_rss(self, interval_s: float = 0.2) -> Iterator[None]:
        """Track the peak RSS in a background thread while the block runs."""
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(interval_s):
                self.peak_rss = max(self.peak_rss, self.rss())

        thread = threading.Thread(target=sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
            self.peak_rss = max(self.peak_rss, self.rss())

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the workers, or the server itself."""
        root = psutil.Process(self.popen.pid)
        children = [
            c.pid for c in root.children() if "multiprocessing" not in " ".join(c.cmdline())
        ]
        return children or [root.pid]

    def stop(self, grace_s: float = 3.0) -> None:
        """SIGTERM, then SIGKILL for the server and its workers after ``grace_s``.

        A graceful stop (consumers leaving their group) is not what the bench measures.
        """
        if self.popen.poll() is not None:
            return
        try:
            children = psutil.Process(self.popen.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        self.popen.terminate()
        try:
            self.popen.wait(grace_s)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.kill()


@dataclass
class Stack:
    """The broker, the bench's database and the environment services start with."""

    broker: Broker
    database_url: str
    admin_url: str
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    def env(self, **overrides: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            KAFKA_BOOTSTRAP_SERVERS=self.broker.bootstrap,
            DATABASE_URL=self.database_url,
            LOG_LEVEL="WARNING",
            PYTHONPATH=str(ROOT),
        )
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def start(
        self,
        name: str,
        app: str,
        *,
        workers: int = 1,
        factory: bool = True,
        ready_path: str = "/readyz",
        env: dict[str, str] | None = None,
    ) -> Process:
        """Start a uvicorn server and wait until ``ready_path`` answers 2xx."""
        port = free_port()
        LOGS.mkdir(exist_ok=True)
        env = dict(env or {})
        if workers > 1 and "PROMETHEUS_MULTIPROC_DIR" not in env:
            # The workers share their Prometheus samples: /metrics answers their totals.
            env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"prometheus-{name}-")
        # Services log to a file: wrk closing its connections at the end of a run leaves
        # ClientDisconnect tracebacks that would drown the figures.
        with (LOGS / f"{name.replace('/', '-')}.log").open("ab") as log:
            popen = subprocess.Popen(
                uvicorn_command(app, port, workers=workers, factory=factory),
                cwd=ROOT,
                env=self.env(**env),
                stdout=log,
                stderr=log,
            )
        process = Process(name=name, port=port, popen=popen)
        self.processes.append(process)
        wait_ready(process, ready_path)
        return process

    def stop(self, process: Process) -> None:
        process.stop()
        with contextlib.suppress(ValueError):
            self.processes.remove(process)

    def stop_all(self) -> None:
        for process in list(self.processes):
            self.stop(process)


def fetch(database_url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    """The rows of one query on ``database_url``, from the bench's synchronous code."""

    async def run() -> list[asyncpg.Record]:
        connection = await asyncpg.connect(database_url)
        try:
            rows: list[asyncpg.Record] = await connection.fetch(query, *args)
            return rows
        finally:
            await connection.close()

    return asyncio.run(run())


def wait_ready(process: Process, path: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.popen.poll() is not None:
                raise RuntimeError(f"{process.name} exited with {process.popen.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(process.base_url + path).is_success:
                    return
            time.sleep(0.2)
    raise TimeoutError(f"{process.name} not ready after {timeout_s} s")


@contextlib.contextmanager
def running_stack() -> Iterator[Stack]:
    """A fresh embedded broker and a freshly migrated database of the bench's own."""
    admin_url, embedded = locate_postgres()
    try:
        asyncio.run(drop_database(admin_url, DATABASE_NAME))
        database_url = asyncio.run(create_database(admin_url, DATABASE_NAME))
        migrations.upgrade(database_url)
        with Broker.running() as broker:
            stack = Stack(broker=broker, database_url=database_url, admin_url=admin_url)
            try:
                yield stack
            finally:
                stack.stop_all()
    finally:
        if embedded is not None:
            embedded.stop()


@contextlib.contextmanager
def fresh_broker(stack: Stack) -> Iterator[None]:
    """Swap in a new, empty broker for one phase (earlier phases' records would be replayed)."""
    old = stack.broker
    with Broker.running() as broker:
        stack.broker = broker
        try:
            yield
        finally:
            stack.broker = old


__all__ = ["PostgresServer", "Process", "Stack", "fetch", "fresh_broker", "running_stack"]
