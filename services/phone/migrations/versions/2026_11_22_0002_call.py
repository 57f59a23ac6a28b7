"""What has been published of each call.

Revision ID: phone_0002
Revises: phone_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "phone_0002"
down_revision: str | None = "phone_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call",
        sa.Column("call_key", sa.String(300), nullable=False),
        sa.Column("started", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("answered", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("ended", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("call_key", name="pk_call"),
        schema="phone",
    )


def downgrade() -> None:
    op.drop_table("call", schema="phone")
