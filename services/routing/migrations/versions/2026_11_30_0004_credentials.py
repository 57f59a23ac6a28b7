"""Roles and credentials: agents become agents or supervisors, and bearer tokens move to
their own table (several per agent, machines' tokens too, each revocable).

Revision ID: routing_0004
Revises: routing_0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_0004"
down_revision: str | None = "routing_0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

S = "routing"
Tz = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "agent",
        sa.Column("role", sa.String(16), nullable=False, server_default="agent"),
        schema=S,
    )
    op.create_table(
        "credential",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("role", sa.String(16), nullable=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("created_at", Tz, nullable=False),
        sa.Column("expires_at", Tz, nullable=True),
        sa.Column("revoked_at", Tz, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_credential"),
        sa.UniqueConstraint("secret_sha256", name="uq_credential_secret_sha256"),
        sa.ForeignKeyConstraint(
            ["agent_id"], [f"{S}.agent.id"], name="fk_credential_agent_id_agent"
        ),
        schema=S,
    )
    op.create_index("ix_credential_agent_id", "credential", ["agent_id"], schema=S)
    # Each agent's one token so far becomes their first credential.
    op.execute(
        "INSERT INTO routing.credential (id, secret_sha256, agent_id, name, created_at) "
        "SELECT gen_random_uuid(), token_hash, id, 'first token', created_at FROM routing.agent"
    )
    op.drop_column("agent", "token_hash", schema=S)


def downgrade() -> None:
    op.add_column("agent", sa.Column("token_hash", sa.String(64), nullable=True), schema=S)
    op.execute(
        "UPDATE routing.agent a SET token_hash = (SELECT c.secret_sha256 FROM routing.credential c "
        "WHERE c.agent_id = a.id AND c.revoked_at IS NULL ORDER BY c.created_at LIMIT 1)"
    )
    op.execute("UPDATE routing.agent SET token_hash = md5(random()::text) WHERE token_hash IS NULL")
    op.alter_column("agent", "token_hash", nullable=False, schema=S)
    op.create_unique_constraint("uq_agent_token_hash", "agent", ["token_hash"], schema=S)
    op.drop_index("ix_credential_agent_id", table_name="credential", schema=S)
    op.drop_table("credential", schema=S)
    op.drop_column("agent", "role", schema=S)
