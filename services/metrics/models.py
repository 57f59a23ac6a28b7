"""Tables of the metrics service, in Postgres schema `metrics`."""

from sqlalchemy import BigInteger, Column, DateTime, PrimaryKeyConstraint, String, Table

from shared.db import naming_metadata, processed_event_table

metadata = naming_metadata("metrics")

processed_event = processed_event_table(metadata)

#: Interaction events counted per minute, channel, provider, type and direction.
volume_minute = Table(
    "volume_minute",
    metadata,
    Column("bucket", DateTime(timezone=True), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("events", BigInteger, nullable=False),
    PrimaryKeyConstraint("bucket", "channel", "provider", "event_type", "direction"),
)
