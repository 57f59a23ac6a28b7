"""Generic webhook deliveries already handled, by signing key and webhook-id.

Revision ID: phone_0005_webhook_ids
Revises: phone_0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "phone_0005_webhook_ids"
down_revision: str | None = "phone_0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_message",
        sa.Column("key_name", sa.String(100), nullable=False),
        sa.Column("webhook_id", sa.String(256), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_name", "webhook_id", name="pk_webhook_message"),
        schema="phone",
    )
    op.create_index("ix_webhook_message_seen_at", "webhook_message", ["seen_at"], schema="phone")


def downgrade() -> None:
    op.drop_index("ix_webhook_message_seen_at", table_name="webhook_message", schema="phone")
    op.drop_table("webhook_message", schema="phone")
