"""Conversation facts, agent status changes, volume per minute and KPI buckets.

Revision ID: metrics_0002
Revises: metrics_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "metrics_0002"
down_revision: str | None = "metrics_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

SCHEMA = "metrics"


def _at(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.drop_table("volume_minute", schema=SCHEMA)
    op.create_table(
        "conversation_fact",
        sa.Column("conversation_key", sa.String(512), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("provider", sa.String(64), nullable=True),
        sa.Column("queue", sa.String(128), nullable=True),
        _at("queue_at"),
        sa.Column("agent_id", sa.String(128), nullable=True),
        _at("agent_at"),
        _at("opened_at"),
        _at("first_inbound_at"),
        _at("first_reply_at"),
        sa.Column("first_reply_agent", sa.String(128), nullable=True),
        _at("queued_at"),
        _at("last_queued_at"),
        _at("answered_at"),
        _at("last_answered_at"),
        sa.Column("queue_wait_ms", sa.BigInteger(), nullable=True),
        _at("abandoned_at"),
        sa.Column("abandon_wait_ms", sa.BigInteger(), nullable=True),
        _at("first_resolved_at"),
        _at("last_resolved_at"),
        sa.Column("reopen_count", sa.Integer(), server_default="0", nullable=False),
        _at("last_reopened_at"),
        sa.Column("transfer_count", sa.Integer(), server_default="0", nullable=False),
        _at("ended_at"),
        sa.Column("talk_ms", sa.BigInteger(), nullable=True),
        sa.Column("hold_ms", sa.BigInteger(), nullable=True),
        sa.Column("after_contact_ms", sa.BigInteger(), nullable=True),
        sa.Column("csat_score", sa.SmallInteger(), nullable=True),
        _at("csat_at"),
        sa.Column("nps_score", sa.SmallInteger(), nullable=True),
        _at("nps_at"),
        sa.PrimaryKeyConstraint("conversation_key", name="pk_conversation_fact"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_conversation_fact_first_reply_at",
        "conversation_fact",
        ["first_reply_at"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_conversation_fact_opened_at", "conversation_fact", ["opened_at"], schema=SCHEMA
    )
    op.create_table(
        "volume_minute",
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket_start", "channel", "provider", "agent_id", "measure", name="pk_volume_minute"
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "agent_status_change",
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "changed_at", name="pk_agent_status_change"),
        schema=SCHEMA,
    )
    op.create_table(
        "kpi_bucket",
        sa.Column("granularity", sa.String(8), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("measure", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(128), nullable=False),
        sa.Column("agent_id", sa.String(128), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("total_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "granularity",
            "bucket_start",
            "measure",
            "channel",
            "queue",
            "agent_id",
            "provider",
            name="pk_kpi_bucket",
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("kpi_bucket", schema=SCHEMA)
    op.drop_table("agent_status_change", schema=SCHEMA)
    op.drop_table("volume_minute", schema=SCHEMA)
    op.drop_table("conversation_fact", schema=SCHEMA)
    op.create_table(
        "volume_minute",
        sa.Column("bucket", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "bucket", "channel", "provider", "event_type", "direction", name="pk_volume_minute"
        ),
        schema=SCHEMA,
    )
