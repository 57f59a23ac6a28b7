"""Queries on offers."""

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import Offer, OfferState, PendingOffer
from services.routing.models import conversation, offer


class OfferRepository:
    """Offers, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, new: Offer) -> None:
        await self._session.execute(
            insert(offer).values(
                id=new.id,
                conversation_id=new.conversation_id,
                agent_id=new.agent_id,
                queue_id=new.queue_id,
                state=new.state,
                offered_at=new.offered_at,
                expires_at=new.expires_at,
                note=new.note,
            )
        )

    async def get(self, offer_id: uuid.UUID) -> Offer | None:
        row = (await self._session.execute(select(offer).where(offer.c.id == offer_id))).first()
        return Offer(**row._mapping) if row is not None else None

    async def pending_of(self, conversation_id: uuid.UUID) -> Offer | None:
        row = (
            await self._session.execute(
                select(offer).where(
                    offer.c.conversation_id == conversation_id, offer.c.state == OfferState.PENDING
                )
            )
        ).first()
        return Offer(**row._mapping) if row is not None else None

    async def pending_for_agent(self, agent_id: uuid.UUID) -> list[PendingOffer]:
        rows = await self._session.execute(
            select(offer, conversation.c.conversation_key, conversation.c.channel)
            .join(conversation, conversation.c.id == offer.c.conversation_id)
            .where(offer.c.agent_id == agent_id, offer.c.state == OfferState.PENDING)
            .order_by(offer.c.offered_at, offer.c.id)
        )
        return [PendingOffer(**r._mapping) for r in rows]

    async def expired(self, now: datetime, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Pending offers past their expiry, oldest first: (offer id, conversation id) each."""
        rows = await self._session.execute(
            select(offer.c.id, offer.c.conversation_id)
            .where(offer.c.state == OfferState.PENDING, offer.c.expires_at <= now)
            .order_by(offer.c.expires_at)
            .limit(limit)
        )
        return [(offer_id, conversation_id) for offer_id, conversation_id in rows.all()]

    async def close(self, offer_id: uuid.UUID, *, state: OfferState, at: datetime) -> None:
        await self._session.execute(
            update(offer).where(offer.c.id == offer_id).values(state=state, responded_at=at)
        )
