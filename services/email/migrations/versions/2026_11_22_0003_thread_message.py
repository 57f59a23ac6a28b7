"""Message-IDs already published and their conversations, for threading by In-Reply-To.

Revision ID: email_0003
Revises: email_0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "email_0003"
down_revision: str | None = "email_0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "thread_message",
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("conversation_key", sa.String(512), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_thread_message"),
        schema="email",
    )


def downgrade() -> None:
    op.drop_table("thread_message", schema="email")
