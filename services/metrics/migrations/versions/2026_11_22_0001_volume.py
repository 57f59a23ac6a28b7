"""Per-minute interaction volume and the processed-event ledger.

Revision ID: metrics_0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_event",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_processed_event"),
        schema="metrics",
    )
    op.create_table(
        "volume_minute",
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket", "channel", "provider", "event_type", "direction", name="pk_volume_minute"
        ),
        schema="metrics",
    )


def downgrade() -> None:
    op.drop_table("volume_minute", schema="metrics")
    op.drop_table("processed_event", schema="metrics")
