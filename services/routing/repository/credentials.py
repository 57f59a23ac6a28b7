"""Queries on bearer tokens' records."""

import uuid
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.domain import Agent, Credential
from services.routing.models import agent, credential


def _credential(row: Row[Any]) -> Credential:
    return Credential(**row._mapping)


class CredentialRepository:
    """Tokens' records, in one transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, new: Credential) -> None:
        values = {f.name: getattr(new, f.name) for f in fields(Credential)}
        await self._session.execute(credential.insert().values(**values))

    async def get(self, credential_id: uuid.UUID) -> Credential | None:
        statement = select(credential).where(credential.c.id == credential_id)
        row = (await self._session.execute(statement)).first()
        return _credential(row) if row is not None else None

    async def holder(self, secret_sha256: str, *, at: datetime) -> tuple[Credential, Agent | None]:
        """The live credential with this hash and its agent, if any; raises LookupError."""
        statement = (
            select(credential, agent)
            .outerjoin(agent, agent.c.id == credential.c.agent_id)
            .where(
                credential.c.secret_sha256 == secret_sha256,
                credential.c.revoked_at.is_(None),
                (credential.c.expires_at.is_(None)) | (credential.c.expires_at > at),
            )
        )
        row = (await self._session.execute(statement)).first()
        if row is None:
            raise LookupError(secret_sha256)
        values = row._mapping
        found = Credential(**{f.name: values[credential.c[f.name]] for f in fields(Credential)})
        if found.agent_id is None:
            return found, None
        return found, Agent(**{f.name: values[agent.c[f.name]] for f in fields(Agent)})

    async def all(self, *, agent_id: uuid.UUID | None = None) -> list[Credential]:
        statement = select(credential).order_by(credential.c.created_at, credential.c.id)
        if agent_id is not None:
            statement = statement.where(credential.c.agent_id == agent_id)
        return [_credential(r) for r in await self._session.execute(statement)]

    async def live_of(self, agent_id: uuid.UUID, *, at: datetime) -> list[Credential]:
        return [c for c in await self.all(agent_id=agent_id) if c.live_at(at)]

    async def revoke(self, credential_id: uuid.UUID, *, at: datetime) -> Credential | None:
        """Revoke one credential; None when it was not live (missing or revoked already)."""
        statement = (
            update(credential)
            .where(credential.c.id == credential_id, credential.c.revoked_at.is_(None))
            .values(revoked_at=at)
            .returning(credential)
        )
        row = (await self._session.execute(statement)).first()
        return _credential(row) if row is not None else None
