"""Credentials: who holds which token, from access.v1, so KPI reads need one.

Revision ID: metrics_0005
Revises: metrics_0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_0005"
down_revision: str | None = "metrics_0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SCHEMA = "metrics"
Tz = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "credential",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("expires_at", Tz, nullable=True),
        sa.Column("revoked_at", Tz, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_credential"),
        sa.UniqueConstraint("secret_sha256", name="uq_credential_secret_sha256"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("credential", schema=SCHEMA)
