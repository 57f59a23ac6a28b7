"""First-response counts read from covering indexes, in bucket and value order.

A report walks the counts of each bucket in value order; with ``n`` in the
index that is an index-only scan with no sort (no heap fetches once vacuum has
marked the pages all-visible; a migration cannot vacuum inside its transaction).

Revision ID: metrics_0004
Revises: metrics_0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "metrics_0004"
down_revision: str | None = "metrics_0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SCHEMA = "metrics"


def upgrade() -> None:
    op.drop_index("ix_frt_count_queue", "frt_count", schema=SCHEMA)
    op.create_index(
        "ix_frt_count_queue_value",
        "frt_count",
        ["granularity", "queue", "bucket_start", "frt_ms"],
        schema=SCHEMA,
        postgresql_include=["n"],
    )
    op.create_index(
        "ix_frt_count_all_value",
        "frt_count_all",
        ["granularity", "bucket_start", "frt_ms"],
        schema=SCHEMA,
        postgresql_include=["n"],
    )
    for table in ("frt_count", "frt_count_all"):
        op.execute(f"ANALYZE {SCHEMA}.{table}")


def downgrade() -> None:
    op.drop_index("ix_frt_count_all_value", "frt_count_all", schema=SCHEMA)
    op.drop_index("ix_frt_count_queue_value", "frt_count", schema=SCHEMA)
    op.create_index(
        "ix_frt_count_queue",
        "frt_count",
        ["granularity", "queue", "bucket_start"],
        schema=SCHEMA,
    )
