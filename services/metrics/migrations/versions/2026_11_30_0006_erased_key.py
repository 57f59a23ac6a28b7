"""Pseudonyms of erased conversation keys.

Revision ID: metrics_erasure_0005
Revises: metrics_0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_erasure_0005"
down_revision: str | None = "metrics_0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SCHEMA = "metrics"


def upgrade() -> None:
    op.create_table(
        "erased_key",
        sa.Column("pseudonym", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name="pk_erased_key"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("erased_key", schema=SCHEMA)
