"""Voicemail out of hours: a call sent to voicemail ends as one, and its redirect is
recorded as an agent's is.

Revision ID: phone_0008_voicemail
Revises: phone_0005_tracing
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "phone_0008_voicemail"
down_revision: str | None = "phone_0005_tracing"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "call",
        sa.Column("voicemail", sa.Boolean(), nullable=False, server_default="false"),
        schema="phone",
    )
    op.add_column(
        "call_redirect",
        sa.Column("kind", sa.String(16), nullable=False, server_default="agent"),
        schema="phone",
    )
    op.alter_column("call_redirect", "agent_address", nullable=True, schema="phone")


def downgrade() -> None:
    op.execute("DELETE FROM phone.call_redirect WHERE agent_address IS NULL")
    op.alter_column("call_redirect", "agent_address", nullable=False, schema="phone")
    op.drop_column("call_redirect", "kind", schema="phone")
    op.drop_column("call", "voicemail", schema="phone")
