"""Looking for personal data anywhere in the services' tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text

from shared.db import Database

#: Every service's schema: what a generic scan reads.
SCHEMAS = ("routing", "chat", "email", "phone", "social", "metrics")


async def rows_holding(database: Database, needles: Sequence[str]) -> dict[str, int]:
    """Per ``schema.table``, how many rows hold one of ``needles`` (case-insensitive) in any
    column: the row as text (JSON and arrays included) and each bytea column decoded."""
    lowered = [n.lower() for n in needles]
    found: dict[str, int] = {}
    async with database.transaction() as session:
        tables = (
            await session.execute(
                text(
                    "SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema = ANY(:schemas) AND table_type = 'BASE TABLE'"
                ),
                {"schemas": list(SCHEMAS)},
            )
        ).all()
        for schema, table in tables:
            binary = (
                await session.execute(
                    text(
                        "SELECT column_name FROM information_schema.columns WHERE "
                        "table_schema = :schema AND table_name = :table AND data_type = 'bytea'"
                    ),
                    {"schema": schema, "table": table},
                )
            ).scalars()
            whole = "t::text" + "".join(
                f" || coalesce(convert_from(t.\"{column}\", 'UTF8'), '')" for column in binary
            )
            count = await session.scalar(
                text(
                    f'SELECT count(*) FROM "{schema}"."{table}" AS t WHERE EXISTS '  # noqa: S608
                    f"(SELECT 1 FROM unnest(CAST(:needles AS text[])) AS n "
                    f"WHERE strpos(lower({whole}), n) > 0)"
                ),
                {"needles": lowered},
            )
            if count:
                found[f"{schema}.{table}"] = int(count)
    return found
