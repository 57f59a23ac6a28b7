"""First-response counts per whole second, beside those per millisecond.

``frt_second_count`` and ``frt_second_count_all`` hold ``frt_count`` and ``frt_count_all``
summed per second (``frt_ms / 1000``): a percentile walk finds the second holding its rank
from them and reads only that second's millisecond counts. They are filled here from the
millisecond counts, so they start equal to what the consumer would have written.

Revision ID: metrics_frt_0010
Revises: metrics_outcomes_0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_frt_0010"
down_revision: str | None = "metrics_outcomes_0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SCHEMA = "metrics"


def _bucket() -> list[sa.Column[object]]:
    return [
        sa.Column("granularity", sa.String(8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "frt_second_count",
        *_bucket(),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("frt_second", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "granularity",
            "bucket_start",
            "channel",
            "queue",
            "frt_second",
            name="pk_frt_second_count",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "frt_second_count_all",
        *_bucket(),
        sa.Column("frt_second", sa.BigInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "granularity", "bucket_start", "frt_second", name="pk_frt_second_count_all"
        ),
        schema=SCHEMA,
    )
    op.execute(
        f"""
        INSERT INTO {SCHEMA}.frt_second_count
        SELECT granularity, bucket_start, channel, queue, frt_ms / 1000, sum(n)
        FROM {SCHEMA}.frt_count GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
        """  # noqa: S608 (constants of this module only)
    )
    op.execute(
        f"""
        INSERT INTO {SCHEMA}.frt_second_count_all
        SELECT granularity, bucket_start, frt_second, sum(n)
        FROM {SCHEMA}.frt_second_count GROUP BY 1, 2, 3 HAVING sum(n) <> 0
        """  # noqa: S608
    )
    op.create_index(
        "ix_frt_second_count_queue_value",
        "frt_second_count",
        ["granularity", "queue", "bucket_start", "frt_second"],
        schema=SCHEMA,
        postgresql_include=["n"],
    )
    op.create_index(
        "ix_frt_second_count_all_value",
        "frt_second_count_all",
        ["granularity", "bucket_start", "frt_second"],
        schema=SCHEMA,
        postgresql_include=["n"],
    )
    for table in ("frt_second_count", "frt_second_count_all"):
        op.execute(f"ANALYZE {SCHEMA}.{table}")


def downgrade() -> None:
    op.drop_index("ix_frt_second_count_all_value", "frt_second_count_all", schema=SCHEMA)
    op.drop_index("ix_frt_second_count_queue_value", "frt_second_count", schema=SCHEMA)
    op.drop_table("frt_second_count_all", schema=SCHEMA)
    op.drop_table("frt_second_count", schema=SCHEMA)
