"""Labels an admin manages, and the labels each conversation carries.

Revision ID: routing_labels_0009
Revises: routing_hours_0006
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "routing_labels_0009"
down_revision: str | None = "routing_hours_0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

S = "routing"


def upgrade() -> None:
    op.create_table(
        "label",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_label"),
        schema=S,
    )
    op.create_table(
        "conversation_label",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("label", sa.String(64), nullable=False),
        sa.Column("labeled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("labeled_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{S}.conversation.id"],
            name="fk_conversation_label_conversation_id_conversation",
        ),
        sa.ForeignKeyConstraint(
            ["label"], [f"{S}.label.name"], name="fk_conversation_label_label_label"
        ),
        sa.PrimaryKeyConstraint("conversation_id", "label", name="pk_conversation_label"),
        schema=S,
    )
    op.create_index("ix_conversation_label_label", "conversation_label", ["label"], schema=S)


def downgrade() -> None:
    op.drop_index("ix_conversation_label_label", table_name="conversation_label", schema=S)
    op.drop_table("conversation_label", schema=S)
    op.drop_table("label", schema=S)
