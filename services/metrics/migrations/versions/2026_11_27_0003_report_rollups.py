"""Rollups a KPI report reads instead of agent-level buckets and every fact.

``kpi_rollup`` is ``kpi_bucket`` summed over agents; ``frt_count`` and
``frt_count_all`` count first responses per hour and day bucket and exact
millisecond value, so percentiles need no sort of the facts; a partial index
holds the open conversations the backlog counts. Existing data is rolled up
here, so the new tables start equal to what the consumer would have written.

Revision ID: metrics_0003
Revises: metrics_0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_0003"
down_revision: str | None = "metrics_0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SCHEMA = "metrics"

#: The first response time in milliseconds exactly as Python's
#: ``round((reply - inbound).total_seconds() * 1000)`` gives it (double, ties to even).
FRT_MS = (
    "round(extract(epoch FROM first_reply_at - first_inbound_at)::float8 * 1000::float8)::bigint"
)
OPEN = (
    "coalesce(opened_at, first_inbound_at) IS NOT NULL AND "
    "(greatest(last_resolved_at, abandoned_at) IS NULL OR last_reopened_at IS NOT NULL "
    "AND last_reopened_at > greatest(last_resolved_at, abandoned_at))"
)


def _bucket() -> list[sa.Column[object]]:
    return [
        sa.Column("granularity", sa.String(8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "kpi_rollup",
        *_bucket(),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("total_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "granularity",
            "bucket_start",
            "measure",
            "channel",
            "queue",
            "provider",
            name="pk_kpi_rollup",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "frt_count",
        *_bucket(),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("frt_ms", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "granularity", "bucket_start", "channel", "queue", "frt_ms", name="pk_frt_count"
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "frt_count_all",
        *_bucket(),
        sa.Column("frt_ms", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("granularity", "bucket_start", "frt_ms", name="pk_frt_count_all"),
        schema=SCHEMA,
    )
    op.execute(
        f"""
        INSERT INTO {SCHEMA}.kpi_rollup
        SELECT granularity, bucket_start, measure, channel, queue, provider,
               sum(n), sum(total_ms)
        FROM {SCHEMA}.kpi_bucket
        GROUP BY granularity, bucket_start, measure, channel, queue, provider
        """  # noqa: S608 (constants of this module only)
    )
    for granularity in ("hour", "day"):
        op.execute(
            f"""
            INSERT INTO {SCHEMA}.frt_count
            SELECT '{granularity}', date_trunc('{granularity}', first_reply_at, 'UTC'),
                   coalesce(channel, ''), coalesce(queue, ''), {FRT_MS}, count(*)
            FROM {SCHEMA}.conversation_fact
            WHERE first_inbound_at IS NOT NULL AND first_reply_at >= first_inbound_at
            GROUP BY 2, 3, 4, 5
            """  # noqa: S608
        )
    op.execute(
        f"""
        INSERT INTO {SCHEMA}.frt_count_all
        SELECT granularity, bucket_start, frt_ms, sum(n)
        FROM {SCHEMA}.frt_count GROUP BY granularity, bucket_start, frt_ms
        """  # noqa: S608
    )
    op.create_index(
        "ix_kpi_rollup_queue",
        "kpi_rollup",
        ["granularity", "queue", "bucket_start"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_frt_count_queue", "frt_count", ["granularity", "queue", "bucket_start"], schema=SCHEMA
    )
    op.create_index(
        "ix_conversation_fact_first_reply_agent",
        "conversation_fact",
        ["first_reply_agent", "first_reply_at"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_conversation_fact_open",
        "conversation_fact",
        ["channel", "queue"],
        schema=SCHEMA,
        postgresql_where=sa.text(OPEN),
    )
    for table in ("kpi_rollup", "frt_count", "frt_count_all", "conversation_fact"):
        op.execute(f"ANALYZE {SCHEMA}.{table}")


def downgrade() -> None:
    op.drop_index("ix_conversation_fact_open", "conversation_fact", schema=SCHEMA)
    op.drop_index("ix_conversation_fact_first_reply_agent", "conversation_fact", schema=SCHEMA)
    op.drop_table("frt_count_all", schema=SCHEMA)
    op.drop_table("frt_count", schema=SCHEMA)
    op.drop_table("kpi_rollup", schema=SCHEMA)
