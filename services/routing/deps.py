"""What routing's endpoints depend on, by name."""

from typing import Annotated

from fastapi import Depends, Header, Request

from services.routing import agent_service
from services.routing.bootstrap import Wakeup
from services.routing.console import auth as console_auth
from services.routing.domain import Agent
from services.routing.feed import AgentFeed
from services.routing.matching import Matcher
from services.routing.settings import RoutingSettings
from services.routing.unit_of_work import UnitOfWork
from shared.errors import Unauthorized
from shared.service import DatabaseDep, provided
from shared.signatures import signatures_match

__all__ = [
    "AdminDep",
    "AgentDep",
    "DatabaseDep",
    "FeedDep",
    "MatcherDep",
    "SettingsDep",
    "UnitOfWorkDep",
]

SettingsDep = Annotated[RoutingSettings, Depends(provided(RoutingSettings))]
MatcherDep = Annotated[Matcher, Depends(provided(Matcher))]
FeedDep = Annotated[AgentFeed, Depends(provided(AgentFeed))]
WakeupDep = Annotated[Wakeup, Depends(provided(Wakeup))]


async def unit_of_work(database: DatabaseDep, wakeup: WakeupDep) -> UnitOfWork:
    """A unit of work whose commit wakes the outbox relay and the matcher if it published."""
    return UnitOfWork(database, published=wakeup)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(unit_of_work)]


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return token.strip()


async def current_agent(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Agent:
    """The agent whose bearer token the request carries, else whose console session cookie."""
    if authorization is None and console_auth.has_session_cookie(request):
        return await console_auth.cookie_agent(request, database, settings)
    token = _bearer(authorization)
    async with UnitOfWork(database) as uow:
        agent = await agent_service.agent_by_token(uow, token=token)
    if agent is None:
        raise Unauthorized("unknown agent token")
    return agent


async def require_admin(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Refuse a request that does not carry the admin token."""
    if not signatures_match(settings.admin_token.get_secret_value(), _bearer(authorization)):
        raise Unauthorized("not the admin token")


AgentDep = Annotated[Agent, Depends(current_agent)]
AdminDep = Depends(require_admin)
