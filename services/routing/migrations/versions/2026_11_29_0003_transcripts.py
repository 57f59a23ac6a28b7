"""Transcripts (every message of a conversation), the agent stream's replay window and
agents' phone addresses.

Revision ID: routing_0003
Revises: routing_0002
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "routing_0003"
down_revision: str | None = "routing_0002"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

S = "routing"
Tz = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("agent", sa.Column("phone_address", sa.String(256), nullable=True), schema=S)
    op.create_table(
        "message",
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_key", sa.String(512), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("at", Tz, nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("stripped_text", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("attachments", postgresql.JSONB(), nullable=False),
        sa.Column("raw_ref", sa.String(1024), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_at", Tz, nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_message"),
        sa.UniqueConstraint("id", name="uq_message_id"),
        sa.UniqueConstraint("event_id", name="uq_message_event_id"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{S}.conversation.id"],
            name="fk_message_conversation_id_conversation",
        ),
        schema=S,
    )
    op.create_index(
        "ix_message_conversation_id_seq", "message", ["conversation_id", "seq"], schema=S
    )
    op.create_index(
        "ix_message_conversation_key_raw_ref",
        "message",
        ["conversation_key", "raw_ref"],
        schema=S,
    )
    op.create_table(
        "agent_notice",
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", Tz, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_agent_notice"),
        schema=S,
    )
    op.create_index("ix_agent_notice_agent_id_seq", "agent_notice", ["agent_id", "seq"], schema=S)
    op.create_index("ix_agent_notice_created_at", "agent_notice", ["created_at"], schema=S)


def downgrade() -> None:
    op.drop_table("agent_notice", schema=S)
    op.drop_table("message", schema=S)
    op.drop_column("agent", "phone_address", schema=S)
