"""Tables of the routing service, in Postgres schema `routing`."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from services.routing.domain import OPEN_STATUSES, ConversationStatus, OfferState
from shared.db import naming_metadata, processed_event_table
from shared.outbox import outbox_table

metadata = naming_metadata("routing")

#: The open conversations, as a literal predicate: with bound parameters Postgres cannot
#: match the partial index once asyncpg's prepared statement switches to a generic plan.
OPEN_PREDICATE = "status IN ({})".format(", ".join(f"'{status}'" for status in OPEN_STATUSES))

processed_event = processed_event_table(metadata)

#: A customer, whatever channels they used.
contact = Table(
    "contact",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("display_name", String(256), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Sticky routing: the agent who last accepted one of this customer's conversations.
    Column("last_agent_id", Uuid, nullable=True),
    Column("last_agent_at", DateTime(timezone=True), nullable=True),
)

#: How a channel knows a contact. Verified email addresses and phone numbers share one
#: namespace across channels ("email", "phone"); other ids are scoped to their provider.
identity = Table(
    "identity",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("contact_id", Uuid, ForeignKey("contact.id"), nullable=False, index=True),
    Column("namespace", String(128), nullable=False),
    Column("value", String(512), nullable=False),
    Column("verified", Boolean, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("uq_identity_namespace_value", "namespace", "value", unique=True),
)

queue = Table(
    "queue",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("providers", ARRAY(String), nullable=False),
    Column("language", String(16), nullable=True),
    Column("required_skills", ARRAY(String), nullable=False),
    Column("optional_skills", ARRAY(String), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("sla_seconds", Integer, nullable=False),
    Column("overflow_seconds", Integer, nullable=True),
    Column("overflow_queue_id", Uuid, ForeignKey("queue.id"), nullable=True),
    Column("max_waiting", Integer, nullable=True),
    Column("offer_timeout_seconds", Integer, nullable=True),
    Column("reply_timeout_seconds", Integer, nullable=True),
    Column("on_agent_offline", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("wrap_up_seconds", Integer, nullable=True),
    # Opening hours (shared.events.Schedule as JSON) and the reply sent outside them.
    Column("schedule", JSONB, nullable=True),
    Column("closed_message", Text, nullable=True),
    # The survey question sent after a resolve: its kind (csat, nps) and text template.
    Column("survey_kind", String(8), nullable=True),
    Column("survey_message", Text, nullable=True),
)

agent = Table(
    "agent",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(256), nullable=False),
    Column("skills", ARRAY(String), nullable=False),
    Column("languages", ARRAY(String), nullable=False),
    Column("capacity", JSONB, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_changed_at", DateTime(timezone=True), nullable=False),
    Column("last_idle_at", DateTime(timezone=True), nullable=False),
    Column("consecutive_timeouts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Where the agent takes calls: E.164 number, sip: or client: address.
    Column("phone_address", String(256), nullable=True),
    # agent or supervisor (a supervisor also takes conversations)
    Column("role", String(16), nullable=False, server_default="agent"),
)

#: Bearer tokens: an agent's (the role is then the agent's) or a machine's (service, wall).
#: Only the SHA-256 of a token is kept.
credential = Table(
    "credential",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("agent_id", Uuid, ForeignKey("agent.id"), nullable=True, index=True),
    # service or wall for a machine's token; None for an agent's
    Column("role", String(16), nullable=True),
    Column("name", String(256), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

conversation = Table(
    "conversation",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("conversation_key", String(512), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("customer_id", String(512), nullable=False),
    Column("customer_kind", String(32), nullable=False),
    Column("contact_id", Uuid, ForeignKey("contact.id"), nullable=True, index=True),
    Column("language", String(16), nullable=True),
    # a ConversationStatus
    Column("status", String(16), nullable=False),
    Column("queue_id", Uuid, ForeignKey("queue.id"), nullable=True),
    Column("agent_id", Uuid, ForeignKey("agent.id"), nullable=True, index=True),
    # The agent who last accepted it: they still see it (and get 409s) once it is resolved.
    Column("last_agent_id", Uuid, nullable=True),
    Column("priority", Integer, nullable=False),
    Column("queued_at", DateTime(timezone=True), nullable=True),
    Column("sla_deadline", DateTime(timezone=True), nullable=True),
    Column("overflow_at", DateTime(timezone=True), nullable=True),
    Column("optional_skills_dropped", Boolean, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    # When the current open spell began (opening or the last reopening): offers made
    # before it no longer count as tried.
    Column("cycle_started_at", DateTime(timezone=True), nullable=False),
    Column("last_inbound_at", DateTime(timezone=True), nullable=False),
    Column("inbound_count", Integer, nullable=False),
    Column("accepted_at", DateTime(timezone=True), nullable=True),
    Column("first_reply_at", DateTime(timezone=True), nullable=True),
    Column("reply_due_at", DateTime(timezone=True), nullable=True),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("reopen_count", Integer, nullable=False),
    # One open conversation per key; closed ones stay for reopening and history.
    Index(
        "uq_conversation_open_key",
        "conversation_key",
        unique=True,
        postgresql_where=text(OPEN_PREDICATE),
    ),
    Index("ix_conversation_key", "conversation_key"),
    Index(
        "ix_conversation_waiting",
        "priority",
        "sla_deadline",
        "queued_at",
        postgresql_where=text(f"status = '{ConversationStatus.QUEUED}'"),
    ),
)

offer = Table(
    "offer",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, ForeignKey("conversation.id"), nullable=False, index=True),
    Column("agent_id", Uuid, ForeignKey("agent.id"), nullable=False, index=True),
    Column("queue_id", Uuid, nullable=True),
    # an OfferState
    Column("state", String(16), nullable=False),
    Column("offered_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("responded_at", DateTime(timezone=True), nullable=True),
    Column("note", Text, nullable=True),
    Index(
        "uq_offer_pending_conversation",
        "conversation_id",
        unique=True,
        postgresql_where=text(f"state = '{OfferState.PENDING}'"),
    ),
)

#: Every change of who holds a conversation, in lock order (taken under both the
#: conversation's and the agent's row locks), so capacity can be audited after the fact.
hold_change = Table(
    "hold_change",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("agent_id", Uuid, nullable=False, index=True),
    Column("conversation_id", Uuid, nullable=False, index=True),
    Column("channel", String(16), nullable=False),
    Column("delta", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

reply = Table(
    "reply",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("conversation_id", Uuid, ForeignKey("conversation.id"), nullable=False, index=True),
    Column("agent_id", Uuid, nullable=False),
    Column("text", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
)

#: The transcripts: every message of every conversation, in and out, read in ``seq`` order.
message = Table(
    "message",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    # An inbound message's id is its event's; an agent's reply's is the reply id.
    Column("id", Uuid, nullable=False, unique=True),
    Column("conversation_id", Uuid, ForeignKey("conversation.id"), nullable=False),
    Column("conversation_key", String(512), nullable=False),
    # The interaction that carried it (of a reply: its message.sent), which statuses name.
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("direction", String(16), nullable=False),
    # an Author
    Column("author", String(16), nullable=False),
    Column("agent_id", Uuid, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("text", Text, nullable=True),
    Column("stripped_text", Text, nullable=True),
    Column("subject", Text, nullable=True),
    Column("attachments", JSONB, nullable=False),
    # The provider's message id; of a reply, known once the connector sent it.
    Column("raw_ref", String(1024), nullable=True),
    # a DeliveryStatus, for outbound messages
    Column("status", String(16), nullable=True),
    Column("status_reason", Text, nullable=True),
    Column("status_at", DateTime(timezone=True), nullable=True),
    Index("ix_message_conversation_id_seq", "conversation_id", "seq"),
    Index("ix_message_conversation_key_raw_ref", "conversation_key", "raw_ref"),
)

#: What each agent's live stream was told, kept for a while so a reconnecting stream
#: replays what it missed (``Last-Event-ID``); the worker deletes old rows.
agent_notice = Table(
    "agent_notice",
    metadata,
    Column("seq", BigInteger, Identity(), primary_key=True),
    Column("agent_id", Uuid, nullable=False),
    Column("type", String(64), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_agent_notice_agent_id_seq", "agent_id", "seq"),
    Index("ix_agent_notice_created_at", "created_at"),
)

outbox = outbox_table(metadata)

#: Contacts erased (``POST /admin/contacts/{id}/erase``): the erasure's id and what it
#: covered, so asking again answers the same erasure and publishes nothing new.
contact_erasure = Table(
    "contact_erasure",
    metadata,
    Column("contact_id", Uuid, primary_key=True),
    Column("erasure_id", Uuid, nullable=False, unique=True),
    Column("conversations", Integer, nullable=False),
    Column("identities", Integer, nullable=False),
    Column("erased_at", DateTime(timezone=True), nullable=False),
)

#: One-time sign-in links to the agent console; only the token's SHA-256 is kept.
signin_link = Table(
    "signin_link",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("agent_id", Uuid, ForeignKey("agent.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("used_at", DateTime(timezone=True), nullable=True),
)

#: Console sessions (the cookie's random id, kept as its SHA-256).
console_session = Table(
    "console_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("agent_id", Uuid, ForeignKey("agent.id"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

#: Replies agents insert in the console with "/" and a shortcut; per queue, or any (NULL).
canned_response = Table(
    "canned_response",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("queue_id", Uuid, ForeignKey("queue.id", ondelete="CASCADE"), nullable=True, index=True),
    Column("shortcut", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: An agent's after-contact work on one channel: no new offer of that channel until it ends
#: (at ``ends_at``, or when the agent sets themselves available).
agent_wrap_up = Table(
    "agent_wrap_up",
    metadata,
    Column("agent_id", Uuid, primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("conversation_id", Uuid, nullable=False),
    Column("queue", String(128), nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False, index=True),
)

#: What each agent last was announced doing (``agent.activity_changed``), overall (scope '')
#: and per channel: handling, wrap_up, idle or off, with the queue it is counted in.
agent_activity = Table(
    "agent_activity",
    metadata,
    Column("agent_id", Uuid, primary_key=True),
    Column("scope", String(16), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("queue", String(128), nullable=True),
    Column("since", DateTime(timezone=True), nullable=False),
)

#: The survey question sent after a resolve (one per conversation, the latest), until the
#: customer answers it with a number or its token expires.
survey_question = Table(
    "survey_question",
    metadata,
    Column("conversation_id", Uuid, primary_key=True),
    Column("conversation_key", String(512), nullable=False, index=True),
    Column("kind", String(8), nullable=False),
    Column("asked_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=True),
)

#: The labels agents may put on conversations (``complaint``, ``billing``...), which an admin
#: manages. A label in use is retired rather than deleted: conversations keep it, none gets it.
label = Table(
    "label",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("description", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
)

#: The labels each conversation carries now, who set them and when.
conversation_label = Table(
    "conversation_label",
    metadata,
    Column("conversation_id", Uuid, ForeignKey("conversation.id"), primary_key=True),
    Column("label", String(64), ForeignKey("label.name"), primary_key=True, index=True),
    Column("labeled_at", DateTime(timezone=True), nullable=False),
    Column("labeled_by", Uuid, nullable=True),
)
