"""What one routing transaction announces: lifecycle events, outbound messages, agent notices.

Events go to the outbox, and notices to the ``agent_notice`` table (the streams' replay
window) and Postgres NOTIFY, inside the transaction, so all leave only if it commits.
"""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import Conversation
from services.routing.models import outbox
from services.routing.repository.notices import Notice, NoticeRepository
from services.routing.surveys import SurveyIssuer
from shared.clock import utc_now
from shared.events import (
    ACCESS_TOPIC,
    CUSTOMERS_TOPIC,
    ROUTING_TOPIC,
    AccessEvent,
    Channel,
    CustomerEvent,
    InteractionEvent,
    LifecycleStep,
    RoutingEvent,
    Schedule,
)
from shared.kafka import OutgoingRecord, interaction_record
from shared.outbox import enqueue

#: The Postgres channel agent notices travel on, to every routing instance.
NOTICE_CHANNEL = "routing_agent"

#: Every notice of a transaction in one statement; Postgres sends them in order at the commit.
NOTIFY_ALL = text(
    "SELECT pg_notify(:channel, payload) FROM unnest(CAST(:payloads AS text[])) AS payload"
)


def _channel(name: str | None) -> Channel | None:
    return Channel(name) if name else None


@dataclass
class Steps:
    """Collects what a transaction publishes; :meth:`flush` writes it before the commit."""

    #: Signs the survey tokens of ``conversation.resolved``; None: the event carries none.
    surveys: SurveyIssuer | None = None
    records: list[OutgoingRecord] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def add(
        self,
        step: LifecycleStep,
        *,
        at: datetime,
        conversation: Conversation | None = None,
        queue: str | None = None,
        agent_id: uuid.UUID | None = None,
        previous_agent_id: uuid.UUID | None = None,
        agent_status: str | None = None,
        cause_event_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
        note: str | None = None,
        agent_address: str | None = None,
        channel: str | None = None,
        wrap_up_seconds: float | None = None,
        queue_schedule: dict[str, Any] | None = None,
        labels: list[str] | None = None,
        contact_id: uuid.UUID | None = None,
        merged_contact_id: uuid.UUID | None = None,
        closed_message: str | None = None,
    ) -> None:
        """Publish one lifecycle step, stamped with when it happened.

        A conversation's step carries the conversation's contact as it is now, so a step
        after a merge names the surviving contact; ``contact_id`` is for contact.* steps.
        """
        survey_tokens = None
        if step is LifecycleStep.RESOLVED and conversation and self.surveys:
            survey_tokens = self.surveys.tokens(conversation, at=at)
        event = RoutingEvent(
            event_id=event_id or uuid.uuid4(),
            type=step,
            occurred_at=at,
            conversation_id=conversation.id if conversation else None,
            conversation_key=conversation.conversation_key if conversation else None,
            contact_id=conversation.contact_id if conversation else contact_id,
            merged_contact_id=merged_contact_id,
            channel=Channel(conversation.channel) if conversation else _channel(channel),
            queue=queue if queue is not None or conversation is None else conversation.queue_name,
            agent_id=str(agent_id) if agent_id else None,
            previous_agent_id=str(previous_agent_id) if previous_agent_id else None,
            cause_event_id=cause_event_id,
            agent_status=agent_status,
            note=note,
            agent_address=agent_address,
            survey_tokens=survey_tokens,
            wrap_up_seconds=wrap_up_seconds,
            queue_schedule=Schedule.model_validate(queue_schedule) if queue_schedule else None,
            labels=labels,
            closed_message=closed_message,
        )
        key = conversation.conversation_key.encode() if conversation else None
        if key is None and agent_id is not None:
            key = str(agent_id).encode()
        if key is None and contact_id is not None:
            key = str(contact_id).encode()
        self.records.append(OutgoingRecord(ROUTING_TOPIC, key, event.to_json()))

    def message(self, event: InteractionEvent) -> None:
        """Publish an outbound interaction (an agent's reply) for the channel's connector."""
        self.records.append(interaction_record(event))

    def access(self, event: AccessEvent) -> None:
        """Publish a credential's change, keyed by the credential so its changes stay in order."""
        key = str(event.credential_id).encode()
        self.records.append(OutgoingRecord(ACCESS_TOPIC, key, event.to_json()))

    def customer(self, event: CustomerEvent) -> None:
        """Publish a customer event, keyed by the contact so its events stay in order."""
        key = str(event.contact_id).encode()
        self.records.append(OutgoingRecord(CUSTOMERS_TOPIC, key, event.to_json()))

    def notify(self, agent_id: uuid.UUID, kind: str, **data: str) -> None:
        """Tell the agent's live stream, wherever the agent is connected."""
        self.notices.append({"agent_id": str(agent_id), "type": kind, **data})

    async def flush(self, session: AsyncSession) -> None:
        await enqueue(session, outbox, self.records)
        if self.notices:
            kept = await NoticeRepository(session).add_many(self.notices, at=utc_now())
            # One statement for all: each row is one NOTIFY, sent in order at the commit.
            await session.execute(
                NOTIFY_ALL, {"channel": NOTICE_CHANNEL, "payloads": [json.dumps(n) for n in kept]}
            )
