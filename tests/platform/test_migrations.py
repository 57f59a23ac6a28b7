"""Every service's migrations apply to an empty database, and again without change."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from switchboard_dev import migrations
from switchboard_dev.postgres import create_database, drop_database
from switchboard_dev.services import SERVICES


async def test_migrations_apply_to_an_empty_database(pg_admin_url: str) -> None:
    name = f"switchboard_migrate_{uuid.uuid4().hex[:10]}"
    url = await create_database(pg_admin_url, name)
    try:
        await asyncio.to_thread(migrations.upgrade, url)
        await asyncio.to_thread(migrations.upgrade, url)  # a second run is a no-op
        connection = await asyncpg.connect(url)
        try:
            schemas = {
                r["nspname"] for r in await connection.fetch("SELECT nspname FROM pg_namespace")
            }
            versions = {
                service: await connection.fetchval(
                    f'SELECT version_num FROM "{service}".alembic_version'  # noqa: S608
                )
                for service in SERVICES
            }
        finally:
            await connection.close()
    finally:
        await drop_database(pg_admin_url, name)
    assert set(SERVICES) <= schemas
    assert all(versions.values()), versions


async def test_wait_returns_once_the_schemas_are_at_head_and_names_what_is_behind(
    pg_admin_url: str,
) -> None:
    # What the Kubernetes init containers run before a service starts.
    name = f"switchboard_migrate_{uuid.uuid4().hex[:10]}"
    url = await create_database(pg_admin_url, name)
    try:
        assert await migrations.behind(url, ("chat",)) == {"chat": "nothing"}
        assert not await asyncio.to_thread(migrations.wait, url, ("chat",), timeout_s=0)
        await asyncio.to_thread(migrations.upgrade, url, ("chat",))
        assert await migrations.behind(url, ("chat",)) == {}
        assert await migrations.behind(url, ("chat", "routing")) == {"routing": "nothing"}
        assert await asyncio.to_thread(migrations.wait, url, ("chat",), timeout_s=0)
    finally:
        await drop_database(pg_admin_url, name)
