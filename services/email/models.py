"""Tables of the email connector, in Postgres schema `email`."""

from sqlalchemy import Column, DateTime, Index, String, Table, Text, Uuid

from shared.db import naming_metadata
from shared.outbound import delivery_table
from shared.outbox import outbox_table

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

#: Every Message-ID published or sent, with its conversation: a reply that names only its
#: parent (In-Reply-To without References) still finds the thread root, a retry keeps its key,
#: and the customer's answer to an agent's reply joins the reply's conversation.
thread_message = Table(
    "thread_message",
    metadata,
    Column("message_id", Text, primary_key=True),
    Column("conversation_key", String(512), nullable=False),
    Column("seen_at", DateTime(timezone=True), nullable=False),
    Column("subject", Text, nullable=True),
    #: The address the customer wrote to: an agent's reply leaves from it.
    Column("recipient", String(320), nullable=True),
    #: An agent's reply: the message.sent event it was sent for (a bounce names it).
    Column("reply_event_id", Uuid, nullable=True),
    # A reply reads its conversation's latest messages for its From, Subject and References.
    Index("ix_thread_message_conversation", "conversation_key", "seen_at"),
)

#: One row per agent reply to an email conversation, until it is delivered by SMTP.
delivery = delivery_table(metadata)

#: The message.status events of those deliveries, relayed to Kafka after their commit.
outbox = outbox_table(metadata)
