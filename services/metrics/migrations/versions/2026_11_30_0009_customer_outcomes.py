"""Customer outcomes: conversations' contacts, contact merges, CRM lifecycle events.

Revision ID: metrics_outcomes_0009
Revises: metrics_labels_0008
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_outcomes_0009"
down_revision: str | None = "metrics_labels_0008"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SCHEMA = "metrics"


def upgrade() -> None:
    op.create_table(
        "conversation_contact",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("contact_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_conversation_contact"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_conversation_contact_contact", "conversation_contact", ["contact_id"], schema=SCHEMA
    )
    op.create_table(
        "contact_merge",
        sa.Column("merged_contact_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("merged_contact_id", name="pk_contact_merge"),
        schema=SCHEMA,
    )
    op.create_table(
        "customer_event",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(256), nullable=True),
        sa.Column("amount", sa.Numeric(20, 6), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("reason", sa.String(512), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_customer_event"),
        schema=SCHEMA,
    )
    op.create_index("ix_customer_event_occurred", "customer_event", ["occurred_at"], schema=SCHEMA)
    op.create_index(
        "ix_customer_event_contact", "customer_event", ["contact_id", "occurred_at"], schema=SCHEMA
    )
    op.create_index(
        "ix_conversation_fact_conversation_id",
        "conversation_fact",
        ["conversation_id"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_fact_conversation_id", "conversation_fact", schema=SCHEMA)
    for table in ("customer_event", "contact_merge", "conversation_contact"):
        op.drop_table(table, schema=SCHEMA)
