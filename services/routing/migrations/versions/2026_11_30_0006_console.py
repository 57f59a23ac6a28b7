"""The agent console: one-time sign-in links, console sessions and canned responses.

Revision ID: routing_0006_console
Revises: routing_erasure_0004
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0006_console"
down_revision: str | None = "routing_erasure_0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

S = "routing"
Tz = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signin_link",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", Tz, nullable=False),
        sa.Column("expires_at", Tz, nullable=False),
        sa.Column("used_at", Tz, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name="pk_signin_link"),
        sa.ForeignKeyConstraint(
            ["agent_id"], [f"{S}.agent.id"], name="fk_signin_link_agent_id_agent"
        ),
        schema=S,
    )
    op.create_index("ix_signin_link_expires_at", "signin_link", ["expires_at"], schema=S)
    op.create_table(
        "console_session",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", Tz, nullable=False),
        sa.Column("expires_at", Tz, nullable=False),
        sa.Column("revoked_at", Tz, nullable=True),
        sa.PrimaryKeyConstraint("id_hash", name="pk_console_session"),
        sa.ForeignKeyConstraint(
            ["agent_id"], [f"{S}.agent.id"], name="fk_console_session_agent_id_agent"
        ),
        schema=S,
    )
    op.create_index("ix_console_session_expires_at", "console_session", ["expires_at"], schema=S)
    op.create_table(
        "canned_response",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("shortcut", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", Tz, nullable=False),
        sa.Column("updated_at", Tz, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_canned_response"),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            [f"{S}.queue.id"],
            name="fk_canned_response_queue_id_queue",
            ondelete="CASCADE",
        ),
        schema=S,
    )
    op.create_index("ix_canned_response_queue_id", "canned_response", ["queue_id"], schema=S)


def downgrade() -> None:
    op.drop_table("canned_response", schema=S)
    op.drop_table("console_session", schema=S)
    op.drop_table("signin_link", schema=S)
