"""Erased contacts: one row per erasure of a contact's personal data.

Revision ID: routing_erasure_0004
Revises: routing_0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_erasure_0004"
down_revision: str | None = "routing_0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

S = "routing"


def upgrade() -> None:
    op.create_table(
        "contact_erasure",
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("erasure_id", sa.Uuid(), nullable=False),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("identities", sa.Integer(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("contact_id", name="pk_contact_erasure"),
        sa.UniqueConstraint("erasure_id", name="uq_contact_erasure_erasure_id"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("contact_erasure", schema=S)
