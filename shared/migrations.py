"""Alembic, once per service schema: ``python -m shared.migrations upgrade [SERVICE...]``.

Each service keeps its migrations in ``services/<name>/migrations`` and its
tables in its own Postgres schema, with its own version table there.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from shared.db import async_url
from shared.settings import PlatformSettings

__all__ = ["SERVICES", "run_env", "upgrade"]

SERVICES_DIR = Path(__file__).resolve().parent.parent / "services"
#: Every service with migrations, in the order they are applied.
SERVICES = ("email", "social", "chat", "phone", "routing", "metrics")


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


def run_env(metadata: MetaData) -> None:
    """The body of every service's ``env.py``: run migrations online over asyncpg."""
    config = context.config
    schema = config.attributes["schema"]

    def migrate(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=metadata,
            version_table_schema=schema,
            include_schemas=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "")
        async with engine.begin() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["upgrade"])
    parser.add_argument("services", nargs="*", default=list(SERVICES))
    args = parser.parse_args()
    upgrade(PlatformSettings().database_url, tuple(args.services))


if __name__ == "__main__":
    main()
