"""Redirects of accepted Twilio calls to their agents, one per accepted step.

Revision ID: phone_0004
Revises: phone_0003
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "phone_0004"
down_revision: str | None = "phone_0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_redirect",
        sa.Column("accepted_event_id", sa.Uuid(), nullable=False),
        sa.Column("call_key", sa.String(300), nullable=False),
        sa.Column("agent_address", sa.String(256), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("accepted_event_id", name="pk_call_redirect"),
        schema="phone",
    )


def downgrade() -> None:
    op.drop_table("call_redirect", schema="phone")
