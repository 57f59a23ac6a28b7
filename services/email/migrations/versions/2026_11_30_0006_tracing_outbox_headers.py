"""The outbox keeps its records' headers: the trace context (`traceparent`) of the
transaction that wrote a row travels with the record the relay publishes.

Revision ID: email_0006_tracing
Revises: email_0005
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "email_0006_tracing"
down_revision: str | None = "email_0005"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("headers", postgresql.JSONB(), nullable=True), schema="email")


def downgrade() -> None:
    op.drop_column("outbox", "headers", schema="email")
