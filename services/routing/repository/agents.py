"""Queries on agents, their load and the choice of an agent for a conversation."""

import uuid
from collections import Counter
from dataclasses import fields
from typing import Any, Unpack

from sqlalchemy import Integer, Row, false, func, literal, or_, select, true, union_all, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import Agent, AgentChanges, AgentStatus, AvailableAgent
from services.routing.models import agent, agent_wrap_up, conversation


def _agent(row: Row[Any]) -> Agent:
    return Agent(**row._mapping)


def _capacity(channel: str) -> Any:
    return func.coalesce(agent.c.capacity[channel].astext.cast(Integer), 0)


def _load(channel: str) -> Any:
    return (
        select(func.count())
        .where(conversation.c.agent_id == agent.c.id, conversation.c.channel == channel)
        .correlate(agent)
        .scalar_subquery()
    )


class AgentRepository:
    """Agents and their load, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, new: Agent) -> None:
        values = {f.name: getattr(new, f.name) for f in fields(Agent)}
        await self._session.execute(insert(agent).values(**values))

    async def get(self, agent_id: uuid.UUID) -> Agent | None:
        row = (await self._session.execute(select(agent).where(agent.c.id == agent_id))).first()
        return _agent(row) if row is not None else None

    async def lock(self, agent_id: uuid.UUID, *, skip_locked: bool = False) -> Agent | None:
        """The agent, locked for this transaction (None if missing or skipped)."""
        statement = (
            select(agent).where(agent.c.id == agent_id).with_for_update(skip_locked=skip_locked)
        )
        row = (await self._session.execute(statement)).first()
        return _agent(row) if row is not None else None

    async def update(self, agent_id: uuid.UUID, **changes: Unpack[AgentChanges]) -> Agent:
        row = (
            await self._session.execute(
                update(agent).where(agent.c.id == agent_id).values(**changes).returning(agent)
            )
        ).one()
        return _agent(row)

    async def list_all(self) -> list[Agent]:
        rows = await self._session.execute(select(agent).order_by(agent.c.created_at, agent.c.id))
        return [_agent(r) for r in rows]

    async def count_by_status(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(agent.c.status, func.count()).group_by(agent.c.status)
        )
        return {status: int(count) for status, count in rows.all()}

    async def load_on(self, agent_id: uuid.UUID, channel: str) -> int:
        """How many conversations of ``channel`` the agent holds (offered or assigned)."""
        count = await self._session.scalar(
            select(func.count()).where(
                conversation.c.agent_id == agent_id, conversation.c.channel == channel
            )
        )
        return int(count or 0)

    async def total_load(self, agent_id: uuid.UUID) -> int:
        count = await self._session.scalar(
            select(func.count()).where(conversation.c.agent_id == agent_id)
        )
        return int(count or 0)

    async def pool(
        self, *, channel: str, any_skills: list[list[str]] | None
    ) -> list[AvailableAgent]:
        """Available agents with room on the channel and every skill of one of ``any_skills``
        (None: any agent): their skills, languages, capacity and load on the channel. Read
        without locks: the matcher locks and counts again before it offers."""
        load = _load(channel)
        capacity = _capacity(channel)
        wrapping = (
            select(agent_wrap_up.c.agent_id)
            .where(agent_wrap_up.c.agent_id == agent.c.id, agent_wrap_up.c.channel == channel)
            .correlate(agent)
            .exists()
        )
        ready = (AgentStatus.AVAILABLE, AgentStatus.WRAP_UP)
        conditions = [agent.c.status.in_(ready), capacity > load, ~wrapping]
        if any_skills is not None:
            conditions.append(or_(*(agent.c.skills.contains(skills) for skills in any_skills)))
        rows = await self._session.execute(
            select(
                agent.c.id,
                agent.c.skills,
                agent.c.languages,
                agent.c.last_idle_at,
                capacity.label("capacity"),
                load.label("load"),
            ).where(*conditions)
        )
        return [AvailableAgent(**r._mapping) for r in rows]

    async def lock_available(self, agent_ids: list[uuid.UUID]) -> list[Agent]:
        """Lock those of the agents no other transaction holds, in id order; skipped ones are left
        out (another instance is routing to them)."""
        statement = (
            select(agent)
            .where(agent.c.id.in_(agent_ids))
            .order_by(agent.c.id)
            .with_for_update(skip_locked=True)
        )
        return [_agent(r) for r in await self._session.execute(statement)]

    async def standing(
        self, agent_ids: list[uuid.UUID]
    ) -> tuple[Counter[tuple[uuid.UUID, str]], set[tuple[uuid.UUID, str]]]:
        """In one statement, for locked agents: how many conversations each holds per channel
        (absent: none), and the (agent, channel) pairs in wrap-up."""
        held = (
            select(
                conversation.c.agent_id,
                conversation.c.channel,
                func.count().label("held"),
                false().label("wrapping"),
            )
            .where(conversation.c.agent_id.in_(agent_ids))
            .group_by(conversation.c.agent_id, conversation.c.channel)
        )
        wrapping = select(
            agent_wrap_up.c.agent_id,
            agent_wrap_up.c.channel,
            literal(0).label("held"),
            true().label("wrapping"),
        ).where(agent_wrap_up.c.agent_id.in_(agent_ids))
        loads: Counter[tuple[uuid.UUID, str]] = Counter()
        wrapping_on: set[tuple[uuid.UUID, str]] = set()
        for row in await self._session.execute(union_all(held, wrapping)):
            if row.wrapping:
                wrapping_on.add((row.agent_id, row.channel))
            else:
                loads[(row.agent_id, row.channel)] = int(row.held)
        return loads, wrapping_on
