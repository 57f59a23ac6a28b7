"""Wrap-up time and queue hours on conversation facts; agents' activity changes.

Revision ID: metrics_hours_0007
Revises: metrics_erasure_0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_hours_0007"
down_revision: str | None = "metrics_erasure_0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SCHEMA = "metrics"


def upgrade() -> None:
    op.add_column(
        "conversation_fact", sa.Column("wrap_up_ms", sa.BigInteger(), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "conversation_fact",
        sa.Column("wrap_up_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.add_column(
        "conversation_fact", sa.Column("queue_schedule", sa.Text(), nullable=True), schema=SCHEMA
    )
    op.add_column(
        "conversation_fact",
        sa.Column("queue_schedule_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )
    op.create_table(
        "agent_activity_change",
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "scope", "changed_at", name="pk_agent_activity_change"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("agent_activity_change", schema=SCHEMA)
    for column in ("queue_schedule_at", "queue_schedule", "wrap_up_at"):
        op.drop_column("conversation_fact", column, schema=SCHEMA)
    op.drop_column("conversation_fact", "wrap_up_ms", schema=SCHEMA)
