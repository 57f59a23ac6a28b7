"""Alembic, once per service schema: ``python -m switchboard_dev.migrations upgrade [SERVICE...]``.

``python -m switchboard_dev.migrations wait SERVICE...`` waits until those schemas are at their
head (a Kubernetes init container: a service starts only once the migrations job ran), and
exits non-zero naming what is behind after ``--timeout`` seconds.

Each service keeps its migrations in ``services/<name>/migrations`` and its tables in its own
Postgres schema, with its own version table there; their ``env.py`` runs
:func:`shared.migrations.run_env`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import async_url
from shared.settings import PlatformSettings
from switchboard_dev.services import SERVICES

__all__ = ["behind", "main", "upgrade", "wait"]

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"


def _config(service: str, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    config.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    config.attributes["schema"] = service
    return config


def upgrade(url: str, services: tuple[str, ...] = SERVICES) -> None:
    """Apply every pending migration of ``services`` to the database at ``url``."""
    for service in services:
        command.upgrade(_config(service, url), "head")


async def behind(url: str, services: tuple[str, ...] = SERVICES) -> dict[str, str]:
    """Service -> what its schema is at ("nothing" when never migrated), for those not at head.

    Reads only each schema's version table, which the service's own role may read.
    """

    def current(connection: Connection, schema: str) -> set[str]:
        context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
        return set(context.get_current_heads())

    engine = create_async_engine(async_url(url), pool_size=1)
    late: dict[str, str] = {}
    try:
        async with engine.connect() as connection:
            for service in services:
                heads = set(ScriptDirectory.from_config(_config(service, url)).get_heads())
                at = await connection.run_sync(current, service)
                if at != heads:
                    late[service] = ", ".join(sorted(at)) or "nothing"
    finally:
        await engine.dispose()
    return late


def wait(url: str, services: tuple[str, ...], *, timeout_s: float, every_s: float = 2.0) -> bool:
    """Wait until every schema of ``services`` is at head; False when ``timeout_s`` passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            late = asyncio.run(behind(url, services))
        except Exception as error:  # the database not up yet, the schema not created yet
            late = {"database": type(error).__name__}
        if not late:
            return True
        if time.monotonic() >= deadline:
            print(f"migrations not applied: {late}", file=sys.stderr, flush=True)
            return False
        time.sleep(every_s)


def main() -> None:
    """The command line: upgrade (or wait for) the named services (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["upgrade", "wait"])
    parser.add_argument("services", nargs="*", default=list(SERVICES))
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds wait waits")
    args = parser.parse_args()
    url = PlatformSettings().database_url
    if args.action == "upgrade":
        upgrade(url, tuple(args.services))
    elif not wait(url, tuple(args.services), timeout_s=args.timeout):
        sys.exit(1)


if __name__ == "__main__":
    main()
