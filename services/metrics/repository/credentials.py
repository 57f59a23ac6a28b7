"""The tokens metrics answers: kept from access.v1, looked up by their hash."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.models import credential
from shared.events import AccessEvent, CredentialChange


async def save(session: AsyncSession, events: Sequence[AccessEvent]) -> None:
    """Each credential's latest state; a revoked one stays revoked, whatever comes after."""
    for event in events:
        revoked_at = event.occurred_at if event.type is CredentialChange.REVOKED else None
        statement = insert(credential).values(
            id=event.credential_id,
            secret_sha256=event.secret_sha256,
            role=event.role.value,
            agent_id=event.agent_id,
            expires_at=event.expires_at,
            revoked_at=revoked_at,
        )
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[credential.c.id],
                set_={
                    "role": statement.excluded.role,
                    "expires_at": statement.excluded.expires_at,
                    "revoked_at": func.coalesce(credential.c.revoked_at, revoked_at),
                },
            )
        )


async def holder(
    session: AsyncSession, secret_sha256: str, *, at: datetime
) -> Row[Any, Any] | None:
    """The live credential (role, agent_id) with this hash, if any."""
    statement = select(credential.c.role, credential.c.agent_id).where(
        credential.c.secret_sha256 == secret_sha256,
        credential.c.revoked_at.is_(None),
        or_(credential.c.expires_at.is_(None), credential.c.expires_at > at),
    )
    return (await session.execute(statement)).first()
