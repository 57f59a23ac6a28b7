"""The body of every service's Alembic ``env.py``: migrations online, in the service's schema.

The command that applies them is :mod:`switchboard_dev.migrations`; it tells Alembic which
schema is the service's (``config.attributes["schema"]``).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

__all__ = ["run_env"]


def run_env(metadata: MetaData) -> None:
    """Run the pending migrations of ``metadata`` online over asyncpg.

    Creates the service's schema if missing and keeps the service's Alembic version table in
    it, so every service migrates on its own. Called from a service's ``migrations/env.py``.
    """
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
