"""The outbox also keeps call events until the broker takes them: an index on their key.

A call's later events join its events still waiting in the outbox, so that they reach
Kafka in order; the index finds them by the call's key.

Revision ID: phone_0005_outbox
Revises: phone_0005_webhook_ids
Create Date: 2026-11-30
"""

from collections.abc import Sequence

from alembic import op

revision: str = "phone_0005_outbox"
down_revision: str | None = "phone_0005_webhook_ids"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_key", "outbox", ["key"], schema="phone")


def downgrade() -> None:
    op.drop_index("ix_outbox_key", table_name="outbox", schema="phone")
