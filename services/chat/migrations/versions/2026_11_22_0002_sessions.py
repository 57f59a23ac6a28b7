"""Website chat sessions and messages; Slack event ids seen.

Revision ID: chat_0002
Revises: chat_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "chat_0002"
down_revision: str | None = "chat_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_session",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("conversation_key", sa.String(200), nullable=False),
        sa.Column("visitor_name", sa.String(200), nullable=True),
        sa.Column("visitor_email", sa.String(320), nullable=True),
        sa.Column("page_url", sa.String(2000), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("agent_replied", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_session"),
        sa.UniqueConstraint("token_sha256", name="uq_chat_session_token_sha256"),
        sa.UniqueConstraint("conversation_key", name="uq_chat_session_conversation_key"),
        schema="chat",
    )
    op.create_table(
        "chat_message",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_message"),
        sa.UniqueConstraint("event_id", name="uq_chat_message_event_id"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["chat.chat_session.id"],
            name="fk_chat_message_session_id_chat_session",
        ),
        schema="chat",
    )
    op.create_index("ix_chat_message_session_id", "chat_message", ["session_id"], schema="chat")
    op.create_table(
        "slack_event",
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_slack_event"),
        schema="chat",
    )


def downgrade() -> None:
    op.drop_table("slack_event", schema="chat")
    op.drop_index("ix_chat_message_session_id", table_name="chat_message", schema="chat")
    op.drop_table("chat_message", schema="chat")
    op.drop_table("chat_session", schema="chat")
