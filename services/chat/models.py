"""Tables of the chat connector, in Postgres schema `chat`."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    String,
    Table,
    Text,
    Uuid,
)

from shared.db import naming_metadata
from shared.outbound import delivery_table
from shared.outbox import outbox_table
from shared.webhook_ids import webhook_message_table

metadata = naming_metadata("chat")

#: A website visitor's chat; the token the widget holds is stored only as a SHA-256.
chat_session = Table(
    "chat_session",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("token_sha256", String(64), nullable=False, unique=True),
    Column("conversation_key", String(200), nullable=False, unique=True),
    Column("visitor_name", String(200), nullable=True),
    Column("visitor_email", String(320), nullable=True),
    Column("page_url", String(2000), nullable=True),
    Column("attributes", JSON, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_activity_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("agent_replied", Boolean, nullable=False),
)

#: Every message of a session, the visitor's and the agents', in the order they came.
chat_message = Table(
    "chat_message",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("session_id", Uuid, ForeignKey("chat.chat_session.id"), nullable=False, index=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("author", String(16), nullable=False),  # visitor | agent
    Column("agent_id", String(200), nullable=True),
    Column("text", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)

#: Slack event ids already published, so Slack's retries publish nothing new.
slack_event = Table(
    "slack_event",
    metadata,
    Column("event_id", String(100), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

#: One row per agent reply to a Slack or generic chat conversation, until it is delivered.
delivery = delivery_table(metadata)

#: The message.status events of those deliveries, relayed to Kafka after their commit.
outbox = outbox_table(metadata)

#: Generic webhook deliveries published, by webhook-id: retries and replays publish nothing new.
webhook_message = webhook_message_table(metadata)
