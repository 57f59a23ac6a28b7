"""Tables of the email connector, in Postgres schema `email`."""

from sqlalchemy import Column, DateTime, String, Table, Text

from shared.db import naming_metadata

metadata = naming_metadata("email")

#: Mailgun signature tokens already accepted: a token signs no body, so one seen again with
#: another form is a replay.
mailgun_token = Table(
    "mailgun_token",
    metadata,
    Column("token", String(128), primary_key=True),
    Column("signed_at", DateTime(timezone=True), nullable=False, index=True),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    #: What the token came with: the same form again is Mailgun's retry, another a replay.
    Column("form_sha256", String(64), nullable=True),
)

#: Every Message-ID published, with its conversation: a reply that names only its parent
#: (In-Reply-To without References) still finds the thread root, and a retry keeps its key.
thread_message = Table(
    "thread_message",
    metadata,
    Column("message_id", Text, primary_key=True),
    Column("conversation_key", String(512), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)
