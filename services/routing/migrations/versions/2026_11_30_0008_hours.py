"""Queues' wrap-up, opening hours and surveys; agents' running wrap-ups and their activity.

Revision ID: routing_hours_0006
Revises: routing_0005_tracing
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "routing_hours_0006"
down_revision: str | None = "routing_0005_tracing"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

S = "routing"


def upgrade() -> None:
    op.add_column("queue", sa.Column("wrap_up_seconds", sa.Integer(), nullable=True), schema=S)
    op.add_column("queue", sa.Column("schedule", JSONB(), nullable=True), schema=S)
    op.add_column("queue", sa.Column("closed_message", sa.Text(), nullable=True), schema=S)
    op.add_column("queue", sa.Column("survey_kind", sa.String(8), nullable=True), schema=S)
    op.add_column("queue", sa.Column("survey_message", sa.Text(), nullable=True), schema=S)
    op.create_table(
        "agent_wrap_up",
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("queue", sa.String(128), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "channel", name="pk_agent_wrap_up"),
        schema=S,
    )
    op.create_index("ix_agent_wrap_up_ends_at", "agent_wrap_up", ["ends_at"], schema=S)
    op.create_table(
        "survey_question",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_key", sa.String(512), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_survey_question"),
        schema=S,
    )
    op.create_index(
        "ix_survey_question_conversation_key", "survey_question", ["conversation_key"], schema=S
    )
    op.create_table(
        "agent_activity",
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(128), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent_id", "scope", name="pk_agent_activity"),
        schema=S,
    )


def downgrade() -> None:
    op.drop_table("agent_activity", schema=S)
    op.drop_index("ix_survey_question_conversation_key", "survey_question", schema=S)
    op.drop_table("survey_question", schema=S)
    op.drop_index("ix_agent_wrap_up_ends_at", "agent_wrap_up", schema=S)
    op.drop_table("agent_wrap_up", schema=S)
    for column in ("survey_message", "survey_kind", "closed_message", "schedule"):
        op.drop_column("queue", column, schema=S)
    op.drop_column("queue", "wrap_up_seconds", schema=S)
