"""Contacts, identities, queues, agents, offers, the hold audit and replies.

The skeleton's conversation table is replaced: it held no routing state yet.

Revision ID: routing_0002
Revises: routing_0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "routing_0002"
down_revision: str | None = "routing_0001"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

S = "routing"
Tz = sa.DateTime(timezone=True)
Strings = postgresql.ARRAY(sa.String())


def upgrade() -> None:
    op.drop_table("conversation", schema=S)
    op.create_table(
        "contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("created_at", Tz, nullable=False),
        sa.Column("last_agent_id", sa.Uuid(), nullable=True),
        sa.Column("last_agent_at", Tz, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_contact"),
        schema=S,
    )
    op.create_table(
        "identity",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("namespace", sa.String(128), nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("created_at", Tz, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identity"),
        sa.ForeignKeyConstraint(
            ["contact_id"], [f"{S}.contact.id"], name="fk_identity_contact_id_contact"
        ),
        schema=S,
    )
    op.create_index("ix_identity_contact_id", "identity", ["contact_id"], schema=S)
    op.create_index(
        "uq_identity_namespace_value", "identity", ["namespace", "value"], unique=True, schema=S
    )
    op.create_table(
        "queue",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("providers", Strings, nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("required_skills", Strings, nullable=False),
        sa.Column("optional_skills", Strings, nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("sla_seconds", sa.Integer(), nullable=False),
        sa.Column("overflow_seconds", sa.Integer(), nullable=True),
        sa.Column("overflow_queue_id", sa.Uuid(), nullable=True),
        sa.Column("max_waiting", sa.Integer(), nullable=True),
        sa.Column("offer_timeout_seconds", sa.Integer(), nullable=True),
        sa.Column("reply_timeout_seconds", sa.Integer(), nullable=True),
        sa.Column("on_agent_offline", sa.String(16), nullable=False),
        sa.Column("created_at", Tz, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_queue"),
        sa.UniqueConstraint("name", name="uq_queue_name"),
        sa.ForeignKeyConstraint(
            ["overflow_queue_id"], [f"{S}.queue.id"], name="fk_queue_overflow_queue_id_queue"
        ),
        schema=S,
    )
    op.create_table(
        "agent",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("skills", Strings, nullable=False),
        sa.Column("languages", Strings, nullable=False),
        sa.Column("capacity", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_changed_at", Tz, nullable=False),
        sa.Column("last_idle_at", Tz, nullable=False),
        sa.Column("consecutive_timeouts", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Tz, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_agent"),
        sa.UniqueConstraint("token_hash", name="uq_agent_token_hash"),
        schema=S,
    )
    op.create_table(
        "conversation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_key", sa.String(512), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(512), nullable=False),
        sa.Column("customer_kind", sa.String(32), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("last_agent_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("queued_at", Tz, nullable=True),
        sa.Column("sla_deadline", Tz, nullable=True),
        sa.Column("overflow_at", Tz, nullable=True),
        sa.Column("optional_skills_dropped", sa.Boolean(), nullable=False),
        sa.Column("opened_at", Tz, nullable=False),
        sa.Column("cycle_started_at", Tz, nullable=False),
        sa.Column("last_inbound_at", Tz, nullable=False),
        sa.Column("inbound_count", sa.Integer(), nullable=False),
        sa.Column("accepted_at", Tz, nullable=True),
        sa.Column("first_reply_at", Tz, nullable=True),
        sa.Column("reply_due_at", Tz, nullable=True),
        sa.Column("resolved_at", Tz, nullable=True),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation"),
        sa.ForeignKeyConstraint(
            ["contact_id"], [f"{S}.contact.id"], name="fk_conversation_contact_id_contact"
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"], [f"{S}.queue.id"], name="fk_conversation_queue_id_queue"
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], [f"{S}.agent.id"], name="fk_conversation_agent_id_agent"
        ),
        schema=S,
    )
    op.create_index("ix_conversation_contact_id", "conversation", ["contact_id"], schema=S)
    op.create_index("ix_conversation_agent_id", "conversation", ["agent_id"], schema=S)
    op.create_index("ix_conversation_key", "conversation", ["conversation_key"], schema=S)
    op.create_index(
        "uq_conversation_open_key",
        "conversation",
        ["conversation_key"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("status IN ('queued', 'offered', 'assigned')"),
    )
    op.create_index(
        "ix_conversation_waiting",
        "conversation",
        ["priority", "sla_deadline", "queued_at"],
        schema=S,
        postgresql_where=sa.text("status = 'queued'"),
    )
    op.create_table(
        "offer",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("queue_id", sa.Uuid(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("offered_at", Tz, nullable=False),
        sa.Column("expires_at", Tz, nullable=False),
        sa.Column("responded_at", Tz, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_offer"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{S}.conversation.id"],
            name="fk_offer_conversation_id_conversation",
        ),
        sa.ForeignKeyConstraint(["agent_id"], [f"{S}.agent.id"], name="fk_offer_agent_id_agent"),
        schema=S,
    )
    op.create_index("ix_offer_conversation_id", "offer", ["conversation_id"], schema=S)
    op.create_index("ix_offer_agent_id", "offer", ["agent_id"], schema=S)
    op.create_index(
        "uq_offer_pending_conversation",
        "offer",
        ["conversation_id"],
        unique=True,
        schema=S,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_table(
        "hold_change",
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("at", Tz, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_hold_change"),
        schema=S,
    )
    op.create_index("ix_hold_change_agent_id", "hold_change", ["agent_id"], schema=S)
    op.create_index("ix_hold_change_conversation_id", "hold_change", ["conversation_id"], schema=S)
    op.create_table(
        "reply",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("sent_at", Tz, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reply"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{S}.conversation.id"],
            name="fk_reply_conversation_id_conversation",
        ),
        schema=S,
    )
    op.create_index("ix_reply_conversation_id", "reply", ["conversation_id"], schema=S)


def downgrade() -> None:
    for table in ("reply", "hold_change", "offer", "conversation", "agent", "queue"):
        op.drop_table(table, schema=S)
    op.drop_table("identity", schema=S)
    op.drop_table("contact", schema=S)
    op.create_table(
        "conversation",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_key", sa.String(512), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(512), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", Tz, nullable=False),
        sa.Column("last_inbound_at", Tz, nullable=False),
        sa.Column("inbound_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation"),
        sa.UniqueConstraint("conversation_key", name="uq_conversation_conversation_key"),
        schema=S,
    )
