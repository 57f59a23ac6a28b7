"""Tables of the social connector, in Postgres schema `social`."""

from shared.db import naming_metadata
from shared.outbound import delivery_table
from shared.outbox import outbox_table

metadata = naming_metadata("social")

#: One row per agent reply to a WhatsApp, Messenger, Instagram, Telegram or X conversation.
delivery = delivery_table(metadata)

#: The message.status events of those deliveries, relayed to Kafka after their commit.
outbox = outbox_table(metadata)
