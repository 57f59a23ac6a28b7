"""Queries of the console's views: an agent's workspace and the supervisor's view."""

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.console.domain import (
    AgentLoad,
    Colleague,
    ConversationCard,
    OfferCard,
    QueueHealth,
    WaitingCard,
)
from services.routing.domain import Author, ConversationStatus, OfferState
from services.routing.models import agent, contact, conversation, message, offer, queue

#: How much of a customer's first message an offer shows.
PREVIEW_CHARS = 200

_CUSTOMER_NAME = func.coalesce(contact.c.display_name, conversation.c.customer_id).label(
    "customer_name"
)
_FIRST_WORDS = (
    select(func.left(message.c.text, PREVIEW_CHARS))
    .where(message.c.conversation_id == conversation.c.id, message.c.author == Author.CUSTOMER)
    .order_by(message.c.seq)
    .limit(1)
    .correlate(conversation)
    .scalar_subquery()
)
_LAST_REPLY = (
    select(func.max(message.c.at))
    .where(message.c.conversation_id == conversation.c.id, message.c.author == Author.AGENT)
    .correlate(conversation)
    .scalar_subquery()
)
_CONVERSATIONS = conversation.outerjoin(
    contact, contact.c.id == conversation.c.contact_id
).outerjoin(queue, queue.c.id == conversation.c.queue_id)


class ConsoleRepository:
    """The console's reads, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def offer_cards(self, agent_id: uuid.UUID) -> list[OfferCard]:
        rows = await self._session.execute(
            select(
                offer.c.id,
                offer.c.conversation_id,
                conversation.c.channel,
                conversation.c.provider,
                queue.c.name.label("queue"),
                _CUSTOMER_NAME,
                _FIRST_WORDS.label("preview"),
                offer.c.offered_at,
                offer.c.expires_at,
                offer.c.note,
            )
            .select_from(_CONVERSATIONS.join(offer, offer.c.conversation_id == conversation.c.id))
            .where(offer.c.agent_id == agent_id, offer.c.state == OfferState.PENDING)
            .order_by(offer.c.offered_at, offer.c.id)
        )
        return [OfferCard(**r._mapping) for r in rows]

    async def conversation_cards(self, agent_id: uuid.UUID) -> list[ConversationCard]:
        rows = await self._session.execute(
            select(
                conversation.c.id,
                conversation.c.channel,
                conversation.c.provider,
                conversation.c.status,
                queue.c.name.label("queue"),
                _CUSTOMER_NAME,
                conversation.c.opened_at,
                conversation.c.queued_at,
                conversation.c.accepted_at,
                conversation.c.first_reply_at,
                conversation.c.sla_deadline,
                conversation.c.last_inbound_at,
                _LAST_REPLY.label("last_reply_at"),
            )
            .select_from(_CONVERSATIONS)
            .where(
                conversation.c.agent_id == agent_id,
                conversation.c.status == ConversationStatus.ASSIGNED,
            )
            .order_by(conversation.c.accepted_at, conversation.c.id)
        )
        return [ConversationCard(**r._mapping) for r in rows]

    async def colleagues(self) -> list[Colleague]:
        rows = await self._session.execute(
            select(agent.c.id, agent.c.name, agent.c.status).order_by(agent.c.name, agent.c.id)
        )
        return [Colleague(**r._mapping) for r in rows]

    async def queue_health(self, now: datetime) -> list[QueueHealth]:
        """Per queue: waiting, offered, assigned, longest wait, and the service level of
        conversations queued in the last hour whose SLA was met or missed (see the docs)."""
        mine = conversation.c.queue_id == queue.c.id

        def count(condition: Any) -> Any:
            return select(func.count()).where(mine, condition).scalar_subquery()

        recent = and_(mine, conversation.c.queued_at >= now - timedelta(hours=1))
        met = and_(
            conversation.c.accepted_at.is_not(None),
            conversation.c.accepted_at <= conversation.c.sla_deadline,
        )
        missed = case(
            (
                conversation.c.accepted_at.is_not(None),
                conversation.c.accepted_at > conversation.c.sla_deadline,
            ),
            else_=conversation.c.sla_deadline < now,
        )
        met_count = select(func.count()).where(recent, met).scalar_subquery()
        missed_count = select(func.count()).where(recent, missed).scalar_subquery()
        oldest = (
            select(func.min(conversation.c.queued_at))
            .where(mine, conversation.c.status == ConversationStatus.QUEUED)
            .scalar_subquery()
        )
        rows = await self._session.execute(
            select(
                queue.c.name,
                queue.c.channel,
                queue.c.sla_seconds,
                count(conversation.c.status == ConversationStatus.QUEUED).label("waiting"),
                count(conversation.c.status == ConversationStatus.OFFERED).label("offered"),
                count(conversation.c.status == ConversationStatus.ASSIGNED).label("assigned"),
                oldest.label("oldest"),
                met_count.label("met"),
                missed_count.label("missed"),
            ).order_by(queue.c.name)
        )
        return [
            QueueHealth(
                name=r.name,
                channel=r.channel,
                waiting=r.waiting,
                offered=r.offered,
                assigned=r.assigned,
                longest_wait_seconds=max(0.0, (now - r.oldest).total_seconds())
                if r.oldest
                else 0.0,
                service_level=r.met / (r.met + r.missed) if r.met + r.missed else None,
                sla_seconds=r.sla_seconds,
            )
            for r in rows
        ]

    async def agent_loads(self) -> list[AgentLoad]:
        """Every agent with their status, capacity and conversations held per channel."""
        held = await self._session.execute(
            select(conversation.c.agent_id, conversation.c.channel, func.count())
            .where(conversation.c.agent_id.is_not(None))
            .group_by(conversation.c.agent_id, conversation.c.channel)
        )
        loads: dict[uuid.UUID, dict[str, int]] = defaultdict(dict)
        for agent_id, channel, n in held.all():
            loads[agent_id][channel] = int(n)
        rows = await self._session.execute(
            select(
                agent.c.id,
                agent.c.name,
                agent.c.status,
                agent.c.status_changed_at,
                agent.c.capacity,
            ).order_by(agent.c.name, agent.c.id)
        )
        return [AgentLoad(**r._mapping, load=loads.get(r.id, {})) for r in rows]

    async def waiting(self, *, limit: int) -> list[WaitingCard]:
        """Conversations waiting in queues, longest waiting first."""
        rows = await self._session.execute(
            select(
                conversation.c.id,
                conversation.c.channel,
                queue.c.name.label("queue"),
                _CUSTOMER_NAME,
                conversation.c.queued_at,
                conversation.c.sla_deadline,
            )
            .select_from(_CONVERSATIONS)
            .where(conversation.c.status == ConversationStatus.QUEUED)
            .order_by(conversation.c.queued_at, conversation.c.id)
            .limit(limit)
        )
        return [WaitingCard(**r._mapping) for r in rows]
