"""Queries on console sign-in links and sessions (both kept only as SHA-256 hashes)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import Agent
from services.routing.models import agent, console_session, signin_link


def _agent(row: Row[Any]) -> Agent:
    return Agent(**row._mapping)


class SessionRepository:
    """Sign-in links and console sessions, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_link(
        self, *, token_hash: str, agent_id: uuid.UUID, at: datetime, expires_at: datetime
    ) -> None:
        await self._session.execute(
            insert(signin_link).values(
                token_hash=token_hash, agent_id=agent_id, created_at=at, expires_at=expires_at
            )
        )

    async def use_link(self, token_hash: str, *, at: datetime) -> uuid.UUID | None:
        """Mark an unused, unexpired link used, in one statement (two exchanges of one link
        cannot both succeed); its agent's id, or None."""
        agent_id: uuid.UUID | None = await self._session.scalar(
            update(signin_link)
            .where(
                signin_link.c.token_hash == token_hash,
                signin_link.c.used_at.is_(None),
                signin_link.c.expires_at > at,
            )
            .values(used_at=at)
            .returning(signin_link.c.agent_id)
        )
        return agent_id

    async def add_session(
        self, *, id_hash: str, agent_id: uuid.UUID, at: datetime, expires_at: datetime
    ) -> None:
        await self._session.execute(
            insert(console_session).values(
                id_hash=id_hash, agent_id=agent_id, created_at=at, expires_at=expires_at
            )
        )

    async def agent_of_session(self, id_hash: str, *, at: datetime) -> Agent | None:
        """The agent of a live session (not revoked, not expired)."""
        row = (
            await self._session.execute(
                select(agent)
                .join(console_session, console_session.c.agent_id == agent.c.id)
                .where(
                    console_session.c.id_hash == id_hash,
                    console_session.c.revoked_at.is_(None),
                    console_session.c.expires_at > at,
                )
            )
        ).first()
        return _agent(row) if row is not None else None

    async def revoke(self, id_hash: str, *, at: datetime) -> bool:
        """Revoke a live session; whether there was one."""
        revoked = await self._session.scalar(
            update(console_session)
            .where(console_session.c.id_hash == id_hash, console_session.c.revoked_at.is_(None))
            .values(revoked_at=at)
            .returning(console_session.c.agent_id)
        )
        return revoked is not None

    async def forget_expired(self, before: datetime) -> None:
        """Delete links and sessions that expired before ``before``."""
        await self._session.execute(delete(signin_link).where(signin_link.c.expires_at < before))
        await self._session.execute(
            delete(console_session).where(console_session.c.expires_at < before)
        )
