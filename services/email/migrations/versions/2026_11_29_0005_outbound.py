"""Outbound delivery of agents' replies by SMTP: what a reply needs of its thread (subject,
the address the customer wrote to, the reply a sent Message-ID belongs to), deliveries and
their outbox.

Revision ID: email_0005
Revises: email_0004
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "email_0005"
down_revision: str | None = "email_0004"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("thread_message", sa.Column("subject", sa.Text(), nullable=True), schema="email")
    op.add_column(
        "thread_message", sa.Column("recipient", sa.String(320), nullable=True), schema="email"
    )
    op.add_column(
        "thread_message", sa.Column("reply_event_id", sa.Uuid(), nullable=True), schema="email"
    )
    op.create_index(
        "ix_thread_message_conversation",
        "thread_message",
        ["conversation_key", "seen_at"],
        schema="email",
    )
    op.create_table(
        "delivery",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider_message_id", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_delivery"),
        schema="email",
    )
    op.create_index("ix_delivery_due", "delivery", ["state", "next_attempt_at"], schema="email")
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        schema="email",
    )


def downgrade() -> None:
    op.drop_table("outbox", schema="email")
    op.drop_index("ix_delivery_due", table_name="delivery", schema="email")
    op.drop_table("delivery", schema="email")
    op.drop_index("ix_thread_message_conversation", table_name="thread_message", schema="email")
    op.drop_column("thread_message", "reply_event_id", schema="email")
    op.drop_column("thread_message", "recipient", schema="email")
    op.drop_column("thread_message", "subject", schema="email")
