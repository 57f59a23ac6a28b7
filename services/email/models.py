"""Tables of the email connector, in Postgres schema `email`."""

from sqlalchemy import Column, DateTime, String, Table

from shared.db import naming_metadata

metadata = naming_metadata("email")

#: Mailgun signature tokens already accepted: a token signs no body, so one seen twice is a replay.
mailgun_token = Table(
    "mailgun_token",
    metadata,
    Column("token", String(128), primary_key=True),
    Column("signed_at", DateTime(timezone=True), nullable=False, index=True),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)
