"""Tables of the routing service, in Postgres schema `routing`."""

from sqlalchemy import Column, DateTime, Integer, String, Table, Uuid

from shared.db import naming_metadata, processed_event_table
from shared.outbox import outbox_table

metadata = naming_metadata("routing")

processed_event = processed_event_table(metadata)

conversation = Table(
    "conversation",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("conversation_key", String(512), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("customer_id", String(512), nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_inbound_at", DateTime(timezone=True), nullable=False),
    Column("inbound_count", Integer, nullable=False),
)

outbox = outbox_table(metadata)
