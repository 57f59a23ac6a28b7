"""Tables of the phone connector, in Postgres schema `phone`."""

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    func,
)

from shared.db import naming_metadata
from shared.outbound import delivery_table
from shared.outbox import outbox_table
from shared.webhook_ids import webhook_message_table

metadata = naming_metadata("phone")

#: What has been published of each call, so repeated or out-of-order callbacks and
#: re-uploaded CDRs give one consistent lifecycle.
call = Table(
    "call",
    metadata,
    Column("call_key", String(300), primary_key=True),
    Column("started", Boolean, nullable=False, server_default="false"),
    Column("answered", Boolean, nullable=False, server_default="false"),
    Column("ended", Boolean, nullable=False, server_default="false"),
    Column("last_sequence", Integer, nullable=True),
    #: Sent to voicemail out of hours: however it ends, it ends as a voicemail.
    Column("voicemail", Boolean, nullable=False, server_default="false"),
    #: Who a Twilio call is with, for the reports that do not say (a recording status callback).
    Column("customer_id", String(300), nullable=True),
    Column("customer_kind", String(16), nullable=True),
    #: Its recording reached the conversation (on ``call.ended`` or as a message): once only.
    Column("recorded", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

#: One row per agent reply to an SMS or generic call conversation, until it is delivered.
delivery = delivery_table(metadata)

#: Events relayed to Kafka after their commit: the message.status events of those
#: deliveries, and the call events the voice webhook keeps until the broker takes them.
outbox = outbox_table(metadata)
#: A call's later events wait behind its events still in the outbox (found by key).
Index("ix_outbox_key", outbox.c.key)

#: Generic call logs handled, by webhook-id: retries and replays add nothing again.
webhook_message = webhook_message_table(metadata)

#: One row per accepted (or out-of-hours) step of a Twilio call (routing's event id): the
#: call is redirected to its agent (or to voicemail) at most once, even when the step is
#: consumed again.
call_redirect = Table(
    "call_redirect",
    metadata,
    Column("accepted_event_id", Uuid, primary_key=True),
    Column("call_key", String(300), nullable=False),
    #: agent (to agent_address) or voicemail (the closed message, then a recording).
    Column("kind", String(16), nullable=False, server_default="agent"),
    Column("agent_address", String(256), nullable=True),
    Column("state", String(16), nullable=False),
    Column("detail", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("settled_at", DateTime(timezone=True), nullable=True),
)
