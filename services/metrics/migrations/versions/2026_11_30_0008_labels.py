"""The labels each conversation carries, and the label set they come from.

Revision ID: metrics_labels_0008
Revises: metrics_hours_0007
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_labels_0008"
down_revision: str | None = "metrics_hours_0007"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SCHEMA = "metrics"


def upgrade() -> None:
    op.create_table(
        "conversation_label",
        sa.Column("conversation_key", sa.String(512), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("labeled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_key", "label", name="pk_conversation_label"),
        schema=SCHEMA,
    )
    op.create_index("ix_conversation_label_label", "conversation_label", ["label"], schema=SCHEMA)
    op.create_table(
        "conversation_label_set",
        sa.Column("conversation_key", sa.String(512), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_key", name="pk_conversation_label_set"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("conversation_label_set", schema=SCHEMA)
    op.drop_index("ix_conversation_label_label", table_name="conversation_label", schema=SCHEMA)
    op.drop_table("conversation_label", schema=SCHEMA)
