"""Tables of the metrics service, in Postgres schema `metrics`.

Facts are what we know about each conversation, each minute of interaction
volume and each agent status change; ``kpi_bucket`` holds their sums per time
bucket, so a KPI query never reads events. Durations are integer milliseconds
so that adding and retracting contributions is exact.
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    and_,
    func,
    or_,
)

from shared.db import naming_metadata, processed_event_table

metadata = naming_metadata("metrics")

processed_event = processed_event_table(metadata)


def _at(name: str) -> Column[object]:
    return Column(name, DateTime(timezone=True))


#: One row per conversation (a phone call is a phone conversation keyed by its call id).
conversation_fact = Table(
    "conversation_fact",
    metadata,
    Column("conversation_key", String(512), primary_key=True),
    Column("conversation_id", Uuid),
    Column("channel", String(16)),
    Column("provider", String(64)),
    Column("queue", String(128)),
    # The queue is the one named by the earliest routing step, whatever order they arrive in.
    _at("queue_at"),
    Column("agent_id", String(128)),
    # The agent is the one who took the conversation last (accept, assign, transfer, answer).
    _at("agent_at"),
    _at("opened_at"),
    _at("first_inbound_at"),
    _at("first_reply_at"),
    Column("first_reply_agent", String(128)),
    _at("queued_at"),
    _at("last_queued_at"),
    _at("answered_at"),
    _at("last_answered_at"),
    Column("queue_wait_ms", BigInteger),
    _at("abandoned_at"),
    Column("abandon_wait_ms", BigInteger),
    _at("first_resolved_at"),
    _at("last_resolved_at"),
    Column("reopen_count", Integer, nullable=False, server_default="0"),
    _at("last_reopened_at"),
    Column("transfer_count", Integer, nullable=False, server_default="0"),
    _at("ended_at"),
    Column("talk_ms", BigInteger),
    Column("hold_ms", BigInteger),
    Column("after_contact_ms", BigInteger),
    Column("csat_score", SmallInteger),
    _at("csat_at"),
    Column("nps_score", SmallInteger),
    _at("nps_at"),
    # The wrap-up that followed the first resolve (routing's conversation.wrapped_up).
    Column("wrap_up_ms", BigInteger),
    _at("wrap_up_at"),
    # The opening hours of its queue (JSON), from the earliest queue step that carried them.
    Column("queue_schedule", Text),
    _at("queue_schedule_at"),
    Index("ix_conversation_fact_first_reply_at", "first_reply_at"),
    Index("ix_conversation_fact_opened_at", "opened_at"),
    Index("ix_conversation_fact_first_reply_agent", "first_reply_agent", "first_reply_at"),
)

_cf = conversation_fact.c
#: When a conversation closed last (resolved or abandoned), if it did.
CLOSED_AT = func.greatest(_cf.last_resolved_at, _cf.abandoned_at)
#: Opened and not closed since (a reopen after the last close opens it again).
IS_OPEN = and_(
    func.coalesce(_cf.opened_at, _cf.first_inbound_at).is_not(None),
    or_(
        CLOSED_AT.is_(None),
        and_(_cf.last_reopened_at.is_not(None), _cf.last_reopened_at > CLOSED_AT),
    ),
)
# Outcomes find a conversation's fact by the id routing's contact steps name.
Index("ix_conversation_fact_conversation_id", _cf.conversation_id)
# Open conversations are few: the backlog reads them alone, never every fact.
Index("ix_conversation_fact_open", _cf.channel, _cf.queue, postgresql_where=IS_OPEN)

#: Interaction events counted per minute: the facts behind the volume KPI.
volume_minute = Table(
    "volume_minute",
    metadata,
    Column("bucket_start", DateTime(timezone=True), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("agent_id", String(128), nullable=False),
    Column("measure", String(32), nullable=False),
    Column("events", BigInteger, nullable=False),
    PrimaryKeyConstraint("bucket_start", "channel", "provider", "agent_id", "measure"),
)

#: Every status an agent entered and when; an interval lasts until the next change.
agent_status_change = Table(
    "agent_status_change",
    metadata,
    Column("agent_id", String(128), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    PrimaryKeyConstraint("agent_id", "changed_at"),
)

#: Every activity routing announced for an agent (agent.activity_changed), overall (scope '')
#: and per channel, with the queue it counts in; an interval lasts until the scope's next change.
agent_activity_change = Table(
    "agent_activity_change",
    metadata,
    Column("agent_id", String(128), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("queue", String(128), nullable=False),
    PrimaryKeyConstraint("agent_id", "scope", "changed_at"),
)

#: Sums of the facts' contributions per granularity, bucket, measure and dimension.
kpi_bucket = Table(
    "kpi_bucket",
    metadata,
    Column("granularity", String(8), nullable=False),
    Column("bucket_start", DateTime(timezone=True), nullable=False),
    Column("measure", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("queue", String(128), nullable=False),
    Column("agent_id", String(128), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("total_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint(
        "granularity", "bucket_start", "measure", "channel", "queue", "agent_id", "provider"
    ),
)

#: ``kpi_bucket`` summed over agents: what a report without an agent filter reads.
#: Written in the same transaction as ``kpi_bucket``, so the two always agree.
kpi_rollup = Table(
    "kpi_rollup",
    metadata,
    Column("granularity", String(8), nullable=False),
    Column("bucket_start", DateTime(timezone=True), nullable=False),
    Column("measure", String(32), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("queue", String(128), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("total_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("granularity", "bucket_start", "measure", "channel", "queue", "provider"),
    Index("ix_kpi_rollup_queue", "granularity", "queue", "bucket_start"),
)

#: How many first responses took exactly ``frt_ms`` milliseconds, per hour and day bucket of
#: the reply, channel and queue: exact percentiles without reading the facts.
frt_count = Table(
    "frt_count",
    metadata,
    Column("granularity", String(8), nullable=False),
    Column("bucket_start", DateTime(timezone=True), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("queue", String(128), nullable=False),
    Column("frt_ms", BigInteger, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("granularity", "bucket_start", "channel", "queue", "frt_ms"),
    # Covering: a queue's report reads its counts in order from the index alone.
    Index(
        "ix_frt_count_queue_value",
        "granularity",
        "queue",
        "bucket_start",
        "frt_ms",
        postgresql_include=["n"],
    ),
)

#: ``frt_count`` summed over channels and queues, for reports without those filters.
frt_count_all = Table(
    "frt_count_all",
    metadata,
    Column("granularity", String(8), nullable=False),
    Column("bucket_start", DateTime(timezone=True), nullable=False),
    Column("frt_ms", BigInteger, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("granularity", "bucket_start", "frt_ms"),
    Index(
        "ix_frt_count_all_value",
        "granularity",
        "bucket_start",
        "frt_ms",
        postgresql_include=["n"],
    ),
)

#: Milliseconds in one bin of the coarse first-response counts: a whole second.
FRT_BIN_MS = 1000

#: ``frt_count`` per whole second (``frt_second = frt_ms // 1000``): a percentile walk sums
#: these to find the second holding its rank, then reads only that second's ``frt_count``
#: rows. Written in the same transaction as ``frt_count``, from the same deltas.
frt_second_count = Table(
    "frt_second_count",
    metadata,
    Column("granularity", String(8), nullable=False),
    Column("bucket_start", DateTime(timezone=True), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("queue", String(128), nullable=False),
    Column("frt_second", BigInteger, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("granularity", "bucket_start", "channel", "queue", "frt_second"),
    Index(
        "ix_frt_second_count_queue_value",
        "granularity",
        "queue",
        "bucket_start",
        "frt_second",
        postgresql_include=["n"],
    ),
)

#: ``frt_second_count`` summed over channels and queues (``frt_count_all`` per second).
frt_second_count_all = Table(
    "frt_second_count_all",
    metadata,
    Column("granularity", String(8), nullable=False),
    Column("bucket_start", DateTime(timezone=True), nullable=False),
    Column("frt_second", BigInteger, nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("granularity", "bucket_start", "frt_second"),
    Index(
        "ix_frt_second_count_all_value",
        "granularity",
        "bucket_start",
        "frt_second",
        postgresql_include=["n"],
    ),
)

#: Who holds which token, as routing announces on access.v1 (only tokens' SHA-256).
credential = Table(
    "credential",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("agent_id", Uuid, nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)


#: Pseudonyms of erased conversation keys: an event still arriving under the raw key (it
#: was published before the erasure) folds into the pseudonymized fact, never a new one.
erased_key = Table(
    "erased_key",
    metadata,
    Column("pseudonym", String(64), primary_key=True),
    Column("erased_at", DateTime(timezone=True), nullable=False),
)


#: Each conversation's contact: the one named by its latest step that carried a contact
#: (the contact at the time; a split's conversation.contact_changed names the new one).
conversation_contact = Table(
    "conversation_contact",
    metadata,
    Column("conversation_id", Uuid, primary_key=True),
    Column("contact_id", Uuid, nullable=False),
    _at("contact_at"),
    Index("ix_conversation_contact_contact", "contact_id"),
)

#: Contact merges (contact.merged): the absorbed contact and the one it lives on in. Chains
#: are followed when read, so a merge arriving late still moves everything of the absorbed one.
contact_merge = Table(
    "contact_merge",
    metadata,
    Column("merged_contact_id", Uuid, primary_key=True),
    Column("contact_id", Uuid, nullable=False),
    _at("merged_at"),
)

#: The CRM's lifecycle events (customers.v1), one row per event id.
customer_event = Table(
    "customer_event",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("type", String(32), nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("contact_id", Uuid, nullable=False),
    Column("source", String(64), nullable=False),
    Column("order_id", String(256)),
    Column("amount", Numeric(20, 6)),
    Column("currency", String(3)),
    Column("reason", String(512)),
    Index("ix_customer_event_occurred", "occurred_at"),
    Index("ix_customer_event_contact", "contact_id", "occurred_at"),
)
#: The labels each conversation carries now (routing's latest ``conversation.labeled``),
#: with when that label set was made. KPIs join them at read time, so a label put on a
#: conversation after its figures were counted still files them under it.
conversation_label = Table(
    "conversation_label",
    metadata,
    Column("conversation_key", String(512), primary_key=True),
    Column("label", String(64), primary_key=True),
    Column("labeled_at", DateTime(timezone=True), nullable=False),
    Index("ix_conversation_label_label", "label"),
)

#: Which ``conversation.labeled`` each conversation's labels come from: a set older (by
#: occurred_at, then event id) than this one is late and changes nothing, also when the
#: latest set is empty.
conversation_label_set = Table(
    "conversation_label_set",
    metadata,
    Column("conversation_key", String(512), primary_key=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("event_id", Uuid, nullable=False),
)
