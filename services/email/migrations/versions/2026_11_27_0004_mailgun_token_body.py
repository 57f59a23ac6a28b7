"""The digest of the form each Mailgun token came with, so Mailgun's own retry is accepted.

A token signs no body: the same token with another form is a replay and stays refused,
while the same form again is Mailgun retrying a request whose answer it did not get.
Tokens recorded before this column have no digest, and any second use of them is refused.

Revision ID: email_0004
Revises: email_0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "email_0004"
down_revision: str | None = "email_0003"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "mailgun_token", sa.Column("form_sha256", sa.String(64), nullable=True), schema="email"
    )


def downgrade() -> None:
    op.drop_column("mailgun_token", "form_sha256", schema="email")
