"""The SQL of agents' activity changes (``agent.activity_changed``), for occupancy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.models import agent_activity_change

aac = agent_activity_change


async def insert_change(
    session: AsyncSession,
    *,
    agent_id: str,
    scope: str,
    changed_at: datetime,
    state: str,
    queue: str,
) -> bool:
    """Record one change; False when the scope already has a change at that instant."""
    statement = (
        insert(aac)
        .values(agent_id=agent_id, scope=scope, changed_at=changed_at, state=state, queue=queue)
        .on_conflict_do_nothing()
        .returning(aac.c.agent_id)
    )
    return (await session.execute(statement)).first() is not None


async def neighbours(
    session: AsyncSession, *, agent_id: str, scope: str, changed_at: datetime
) -> tuple[Any | None, Any | None]:
    """The scope's changes just before and just after ``changed_at``."""
    mine = (aac.c.agent_id == agent_id, aac.c.scope == scope)
    before = await session.execute(
        select(aac)
        .where(*mine, aac.c.changed_at < changed_at)
        .order_by(aac.c.changed_at.desc())
        .limit(1)
    )
    after = await session.execute(
        select(aac).where(*mine, aac.c.changed_at > changed_at).order_by(aac.c.changed_at).limit(1)
    )
    return before.first(), after.first()


async def all_changes(session: AsyncSession) -> AsyncIterator[Any]:
    result = await session.stream(
        select(aac)
        .order_by(aac.c.agent_id, aac.c.scope, aac.c.changed_at)
        .execution_options(yield_per=2000)
    )
    async for row in result:
        yield row
