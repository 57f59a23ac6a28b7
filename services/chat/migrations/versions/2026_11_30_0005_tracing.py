"""The outbox keeps its records' headers: the trace context (`traceparent`) of the
transaction that wrote a row travels with the record the relay publishes.

Revision ID: chat_0004_tracing
Revises: chat_0004_webhook_ids
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "chat_0004_tracing"
down_revision: str | None = "chat_0004_webhook_ids"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("headers", postgresql.JSONB(), nullable=True), schema="chat")


def downgrade() -> None:
    op.drop_column("outbox", "headers", schema="chat")
