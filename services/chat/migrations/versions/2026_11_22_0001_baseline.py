"""Baseline: the `chat` schema (created by env.py) and its version table.

Revision ID: chat_0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

revision: str = "chat_0001"
down_revision: str | None = None
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
