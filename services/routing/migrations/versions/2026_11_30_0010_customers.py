"""Customer lifecycle events taken from a CRM (by source and its event id), and the
customer-event webhook's handled webhook-ids.

Revision ID: routing_customers_0010
Revises: routing_labels_0009
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_customers_0010"
down_revision: str | None = "routing_labels_0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

S = "routing"


def upgrade() -> None:
    op.create_table(
        "customer_event",
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("source_event_id", sa.String(256), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "source_event_id", name="pk_customer_event"),
        schema=S,
    )
    op.create_index("ix_customer_event_contact_id", "customer_event", ["contact_id"], schema=S)
    op.create_table(
        "webhook_message",
        sa.Column("key_name", sa.String(100), nullable=False),
        sa.Column("webhook_id", sa.String(256), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_name", "webhook_id", name="pk_webhook_message"),
        schema=S,
    )
    op.create_index("ix_webhook_message_seen_at", "webhook_message", ["seen_at"], schema=S)


def downgrade() -> None:
    op.drop_table("webhook_message", schema=S)
    op.drop_table("customer_event", schema=S)
