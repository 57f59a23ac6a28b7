"""Tokens: issued to agents and machines, rotated, revoked, and resolved to who holds them.

Every change is published on ``access.v1`` in the same transaction, so the other services
that answer these tokens (metrics) learn of a revocation as surely as routing does.
"""

import uuid
from datetime import datetime, timedelta

from services.routing.domain import MACHINE_ROLES, Agent, Credential
from services.routing.unit_of_work import UnitOfWork
from shared.auth import Principal, new_token, token_sha256
from shared.clock import utc_now
from shared.errors import BadRequest, NotFound, Unauthorized
from shared.events import AccessEvent, CredentialChange, Role


def _expiry(at: datetime, valid_for_s: int | None) -> datetime | None:
    return at + timedelta(seconds=valid_for_s) if valid_for_s else None


def _publish(uow: UnitOfWork, change: CredentialChange, held: Credential, role: Role) -> None:
    uow.steps.access(
        AccessEvent(
            event_id=uuid.uuid4(),
            type=change,
            occurred_at=utc_now(),
            credential_id=held.id,
            secret_sha256=held.secret_sha256,
            role=role,
            agent_id=held.agent_id,
            expires_at=held.expires_at,
        )
    )


async def _issue(
    uow: UnitOfWork,
    *,
    agent: Agent | None,
    role: Role | None,
    name: str,
    valid_for_s: int | None,
) -> tuple[Credential, str]:
    token = new_token()
    at = utc_now()
    held = Credential(
        id=uuid.uuid4(),
        secret_sha256=token_sha256(token),
        agent_id=agent.id if agent else None,
        role=role,
        name=name,
        created_at=at,
        expires_at=_expiry(at, valid_for_s),
    )
    await uow.credentials.add(held)
    _publish(uow, CredentialChange.ISSUED, held, agent.role if agent else role or Role.SERVICE)
    return held, token


async def issue_agent_token(
    uow: UnitOfWork,
    *,
    agent: Agent,
    name: str,
    valid_for_s: int | None = None,
    revoke_others: bool = False,
) -> tuple[Credential, str]:
    """A new token for ``agent`` (shown once); ``revoke_others`` makes it a rotation."""
    if revoke_others:
        for held in await uow.credentials.live_of(agent.id, at=utc_now()):
            await revoke(uow, credential_id=held.id)
    return await _issue(uow, agent=agent, role=None, name=name, valid_for_s=valid_for_s)


async def issue_agent_token_by_id(
    uow: UnitOfWork,
    *,
    agent_id: uuid.UUID,
    name: str,
    valid_for_s: int | None = None,
    revoke_others: bool = False,
) -> tuple[Credential, str]:
    agent = await uow.agents.get(agent_id)
    if agent is None:
        raise NotFound("no such agent")
    return await issue_agent_token(
        uow, agent=agent, name=name, valid_for_s=valid_for_s, revoke_others=revoke_others
    )


async def issue_machine_token(
    uow: UnitOfWork, *, role: Role, name: str, valid_for_s: int | None = None
) -> tuple[Credential, str]:
    """A token for a machine: ``service`` (other systems) or ``wall`` (a read-only screen)."""
    if role not in MACHINE_ROLES:
        raise BadRequest("a machine's token is service or wall; agents' tokens are per agent")
    return await _issue(uow, agent=None, role=role, name=name, valid_for_s=valid_for_s)


async def revoke(uow: UnitOfWork, *, credential_id: uuid.UUID) -> Credential:
    """Revoke a token at once (404 when it is unknown or revoked already)."""
    held = await uow.credentials.revoke(credential_id, at=utc_now())
    if held is None:
        raise NotFound("no such live token")
    role = held.role
    if role is None:
        agent = await uow.agents.get(held.agent_id) if held.agent_id else None
        role = agent.role if agent else Role.AGENT
    _publish(uow, CredentialChange.REVOKED, held, role)
    return held


async def republish_for(uow: UnitOfWork, *, agent: Agent) -> None:
    """Announce the agent's live tokens again after their role changed."""
    for held in await uow.credentials.live_of(agent.id, at=utc_now()):
        _publish(uow, CredentialChange.ISSUED, held, agent.role)


async def list_tokens(uow: UnitOfWork, *, agent_id: uuid.UUID | None = None) -> list[Credential]:
    return await uow.credentials.all(agent_id=agent_id)


async def principal_of(uow: UnitOfWork, *, token: str) -> tuple[Principal, Agent | None]:
    """Who holds ``token`` (401 when no live token matches)."""
    try:
        held, agent = await uow.credentials.holder(token_sha256(token), at=utc_now())
    except LookupError:
        raise Unauthorized("unknown, expired or revoked token") from None
    if agent is not None:
        return Principal(agent.role, agent.id), agent
    return Principal(held.role or Role.SERVICE), None
