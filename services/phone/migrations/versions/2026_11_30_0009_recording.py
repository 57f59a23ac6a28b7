"""A voicemail's recording reaches its conversation once, even after the call ended: each
call keeps its customer (a recording status callback names only the call) and whether its
recording was published.

Revision ID: phone_0009_recording
Revises: phone_0008_voicemail
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "phone_0009_recording"
down_revision: str | None = "phone_0008_voicemail"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("call", sa.Column("customer_id", sa.String(300), nullable=True), schema="phone")
    op.add_column("call", sa.Column("customer_kind", sa.String(16), nullable=True), schema="phone")
    op.add_column(
        "call",
        sa.Column("recorded", sa.Boolean(), nullable=False, server_default="false"),
        schema="phone",
    )


def downgrade() -> None:
    op.drop_column("call", "recorded", schema="phone")
    op.drop_column("call", "customer_kind", schema="phone")
    op.drop_column("call", "customer_id", schema="phone")
