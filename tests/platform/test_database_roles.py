"""deploy/postgres/roles.sql run for real: each service's role reaches its own schema only.

The script runs with psql, as compose's Postgres runs it, in a database of its own, with role
names of its own (roles are shared by the whole Postgres cluster); the migrations then run as
the owner role, as compose's migrate service does.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from switchboard_dev import migrations
from switchboard_dev.postgres import create_database, drop_database
from switchboard_dev.services import SERVICES

ROOT = Path(__file__).resolve().parents[2]
ROLES_SQL = ROOT / "deploy" / "postgres" / "roles.sql"


def password(role: str) -> str:
    return f"{role}-password"


def run_roles_sql(url: str, prefix: str) -> None:
    """Run roles.sql as the superuser, the way deploy/postgres/roles.sh does."""
    parsed = make_url(url)
    variables = [f"prefix={prefix}", f"owner_password={password(prefix + '_owner')}"]
    variables += [f"{s}_password={password(f'{prefix}_{s}')}" for s in SERVICES]
    command = ["psql", "--no-psqlrc", "--quiet", "-v", "ON_ERROR_STOP=1"]
    for variable in variables:
        command += ["-v", variable]
    command += [
        "--host", parsed.host or "127.0.0.1",
        "--port", str(parsed.port or 5432),
        "--username", parsed.username or "postgres",
        "--dbname", parsed.database or "",
        "--file", str(ROLES_SQL),
    ]  # fmt: skip
    env = {"PGPASSWORD": parsed.password or "", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    subprocess.run(command, check=True, env=env, capture_output=True, timeout=60)


def plain(url: str, role: str | None = None) -> str:
    """An asyncpg URL for ``url``'s database, as ``role`` when given."""
    parsed = make_url(url).set(drivername="postgresql")
    if role is not None:
        parsed = parsed.set(username=role, password=password(role))
    return parsed.render_as_string(hide_password=False)


@pytest.fixture(scope="module", params=["new", "older"])
async def roles_database(
    request: pytest.FixtureRequest, pg_admin_url: str
) -> AsyncIterator[tuple[str, str]]:
    """A database set up as compose sets up its own: roles.sql, then the migrations as owner.

    ``older``: a database migrated before the roles existed (everything the superuser's), then
    roles.sql run by hand, as docs/deployment.md says for an older volume.
    """
    prefix = f"sbroles{uuid.uuid4().hex[:8]}"
    name = f"switchboard_test_{prefix}"
    url = await create_database(pg_admin_url, name)
    owner = make_url(url).set(username=f"{prefix}_owner", password=password(f"{prefix}_owner"))
    try:
        if request.param == "older":
            await asyncio.to_thread(migrations.upgrade, url)
        await asyncio.to_thread(run_roles_sql, url, prefix)
        await asyncio.to_thread(migrations.upgrade, owner.render_as_string(hide_password=False))
        yield url, prefix
    finally:
        await drop_database(pg_admin_url, name)
        admin = await asyncpg.connect(plain(pg_admin_url))
        try:
            for role in ("owner", *SERVICES):
                await admin.execute(f'DROP ROLE IF EXISTS "{prefix}_{role}"')
        finally:
            await admin.close()


async def tables(url: str) -> dict[str, list[str]]:
    """Schema -> its tables, as the superuser sees them."""
    admin = await asyncpg.connect(plain(url))
    try:
        rows = await admin.fetch(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY($1::text[])",
            list(SERVICES),
        )
    finally:
        await admin.close()
    found: dict[str, list[str]] = {service: [] for service in SERVICES}
    for row in rows:
        found[row["schemaname"]].append(row["tablename"])
    return found


async def test_the_owner_owns_every_table_and_is_no_superuser(
    roles_database: tuple[str, str],
) -> None:
    url, prefix = roles_database
    admin = await asyncpg.connect(plain(url))
    try:
        # Tables, their indexes and sequences, views, types, routines and the schemas.
        owners = await admin.fetch(
            """
            SELECT pg_get_userbyid(relowner) AS owner FROM pg_class
             WHERE relnamespace::regnamespace::text = ANY($1::text[])
            UNION SELECT pg_get_userbyid(typowner) FROM pg_type
             WHERE typnamespace::regnamespace::text = ANY($1::text[])
            UNION SELECT pg_get_userbyid(proowner) FROM pg_proc
             WHERE pronamespace::regnamespace::text = ANY($1::text[])
            UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace
             WHERE nspname = ANY($1::text[])
            """,
            list(SERVICES),
        )
        flags = await admin.fetchrow(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1",
            f"{prefix}_owner",
        )
    finally:
        await admin.close()
    assert [row["owner"] for row in owners] == [f"{prefix}_owner"]
    assert flags is not None
    assert tuple(flags) == (False, False, False)


@pytest.mark.parametrize("service", SERVICES)
async def test_a_service_reads_and_writes_its_own_schema_only(
    roles_database: tuple[str, str], service: str
) -> None:
    url, prefix = roles_database
    schemas = await tables(url)
    assert schemas[service], f"{service} has no tables"
    connection = await asyncpg.connect(plain(url, f"{prefix}_{service}"))
    try:
        for table in schemas[service]:
            name = f'"{service}"."{table}"'
            # Every right a service uses, checked without changing a row.
            await connection.fetch(f"SELECT * FROM {name} LIMIT 1")  # noqa: S608
            await connection.execute(f"INSERT INTO {name} SELECT * FROM {name} WHERE false")  # noqa: S608
            await connection.execute(f"DELETE FROM {name} WHERE false")  # noqa: S608
            # metrics rebuilds its roll-ups with TRUNCATE; rolled back here.
            transaction = connection.transaction()
            await transaction.start()
            await connection.execute(f"TRUNCATE {name} CASCADE")
            await transaction.rollback()
        for other, other_tables in schemas.items():
            if other == service:
                continue
            for table in other_tables:
                with pytest.raises(asyncpg.InsufficientPrivilegeError):
                    await connection.fetch(f'SELECT 1 FROM "{other}"."{table}" LIMIT 1')  # noqa: S608
        # Its tables' shape belongs to the migrations.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute(f'CREATE TABLE "{service}".intruder (id int)')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute(f'DROP TABLE "{service}"."{schemas[service][0]}"')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("CREATE TABLE public.intruder (id int)")
    finally:
        await connection.close()


async def test_running_the_script_again_changes_nothing_it_should_not(
    roles_database: tuple[str, str],
) -> None:
    url, prefix = roles_database
    await asyncio.to_thread(run_roles_sql, url, prefix)
    await test_the_owner_owns_every_table_and_is_no_superuser(roles_database)
    # The migrations still run as the owner (nothing pending: they check and stop).
    owner = make_url(url).set(username=f"{prefix}_owner", password=password(f"{prefix}_owner"))
    await asyncio.to_thread(migrations.upgrade, owner.render_as_string(hide_password=False))
