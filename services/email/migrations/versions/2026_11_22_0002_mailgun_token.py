"""Mailgun tokens already accepted, to refuse replayed signatures.

Revision ID: email_0002
Revises: email_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "email_0002"
down_revision: str | None = "email_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mailgun_token",
        sa.Column("token", sa.String(128), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token", name="pk_mailgun_token"),
        schema="email",
    )
    op.create_index(
        "ix_email_mailgun_token_signed_at", "mailgun_token", ["signed_at"], schema="email"
    )


def downgrade() -> None:
    op.drop_index("ix_email_mailgun_token_signed_at", "mailgun_token", schema="email")
    op.drop_table("mailgun_token", schema="email")
