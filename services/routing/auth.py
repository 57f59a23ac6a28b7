"""Bearer tokens: one per agent, one for the admin."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header

from services.routing import agent_service
from services.routing.settings import RoutingSettings
from shared.errors import Unauthorized
from shared.service import RuntimeDep
from shared.signatures import signatures_match


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return token.strip()


@dataclass(frozen=True)
class Caller:
    agent_id: uuid.UUID
    name: str


async def current_agent(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> Caller:
    token = _bearer(authorization)
    async with runtime.database.transaction() as session:
        agent = await agent_service.agent_by_token(session, token=token)
    if agent is None:
        raise Unauthorized("unknown agent token")
    return Caller(agent_id=agent.id, name=agent.name)


async def require_admin(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    token = _bearer(authorization)
    settings: RoutingSettings = runtime.state["settings"]
    if not signatures_match(settings.admin_token.get_secret_value(), token):
        raise Unauthorized("not the admin token")


AgentDep = Annotated[Caller, Depends(current_agent)]
AdminDep = Depends(require_admin)
