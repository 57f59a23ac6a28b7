"""Queries on offers."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import conversation, offer

Row = dict[str, Any]


async def insert_offer(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(insert(offer).values(**values))


async def get_offer(session: AsyncSession, offer_id: uuid.UUID) -> Row | None:
    row = (await session.execute(select(offer).where(offer.c.id == offer_id))).first()
    return dict(row._mapping) if row is not None else None


async def pending_offer_of(session: AsyncSession, conversation_id: uuid.UUID) -> Row | None:
    row = (
        await session.execute(
            select(offer).where(
                offer.c.conversation_id == conversation_id, offer.c.state == "pending"
            )
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def pending_for_agent(session: AsyncSession, agent_id: uuid.UUID) -> list[Row]:
    rows = await session.execute(
        select(offer, conversation.c.conversation_key, conversation.c.channel)
        .join(conversation, conversation.c.id == offer.c.conversation_id)
        .where(offer.c.agent_id == agent_id, offer.c.state == "pending")
        .order_by(offer.c.offered_at, offer.c.id)
    )
    return [dict(r._mapping) for r in rows]


async def expired_conversation_ids(session: AsyncSession, now: datetime, limit: int) -> list[Row]:
    rows = await session.execute(
        select(offer.c.id, offer.c.conversation_id)
        .where(offer.c.state == "pending", offer.c.expires_at <= now)
        .order_by(offer.c.expires_at)
        .limit(limit)
    )
    return [dict(r._mapping) for r in rows]


async def close_offer(
    session: AsyncSession, offer_id: uuid.UUID, *, state: str, at: datetime
) -> None:
    await session.execute(
        update(offer).where(offer.c.id == offer_id).values(state=state, responded_at=at)
    )
