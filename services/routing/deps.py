"""What routing's endpoints depend on, by name."""

from typing import Annotated

from fastapi import Depends, Request

from services.routing import access
from services.routing.bootstrap import Wakeup
from services.routing.console import auth as console_auth
from services.routing.domain import Agent
from services.routing.feed import AgentFeed
from services.routing.matching import Matcher
from services.routing.settings import RoutingSettings
from services.routing.surveys import SurveyIssuer
from services.routing.unit_of_work import UnitOfWork
from shared.auth import BearerToken, OptionalBearerToken, Principal, is_admin_token
from shared.errors import Unauthorized
from shared.events import Role
from shared.service import DatabaseDep, provided

__all__ = [
    "AdminDep",
    "AgentDep",
    "DatabaseDep",
    "FeedDep",
    "MatcherDep",
    "PrincipalDep",
    "SettingsDep",
    "SupervisorDep",
    "UnitOfWorkDep",
]

SettingsDep = Annotated[RoutingSettings, Depends(provided(RoutingSettings))]
MatcherDep = Annotated[Matcher, Depends(provided(Matcher))]
FeedDep = Annotated[AgentFeed, Depends(provided(AgentFeed))]
WakeupDep = Annotated[Wakeup, Depends(provided(Wakeup))]
SurveysDep = Annotated[SurveyIssuer, Depends(provided(SurveyIssuer))]


async def unit_of_work(database: DatabaseDep, wakeup: WakeupDep, surveys: SurveysDep) -> UnitOfWork:
    """A unit of work whose commit wakes the outbox relay and the matcher if it published."""
    return UnitOfWork(database, published=wakeup, surveys=surveys)


UnitOfWorkDep = Annotated[UnitOfWork, Depends(unit_of_work)]


async def current_principal(
    request: Request, database: DatabaseDep, settings: SettingsDep, token: OptionalBearerToken
) -> Principal:
    """Who the request's bearer token belongs to: the admin, an agent, a supervisor or a
    machine (401 when the token is unknown, expired or revoked); without a token, the agent
    or supervisor whose console session cookie it carries."""
    if token is None and console_auth.has_session_cookie(request):
        agent = await console_auth.cookie_agent(request, database, settings)
        return Principal(agent.role, agent.id)
    if token is None:
        raise Unauthorized("send Authorization: Bearer <token>")
    if is_admin_token(settings.admin_token, token):
        return Principal(Role.ADMIN)
    async with UnitOfWork(database) as uow:
        principal, _ = await access.principal_of(uow, token=token)
    return principal


async def current_agent(
    request: Request, database: DatabaseDep, settings: SettingsDep, token: OptionalBearerToken
) -> Agent:
    """The agent (or supervisor) whose bearer token the request carries, else whose console
    session cookie."""
    if token is None and console_auth.has_session_cookie(request):
        return await console_auth.cookie_agent(request, database, settings)
    if token is None:
        raise Unauthorized("send Authorization: Bearer <token>")
    async with UnitOfWork(database) as uow:
        _, agent = await access.principal_of(uow, token=token)
    if agent is None:
        raise Unauthorized("not an agent's token")
    return agent


async def require_admin(settings: SettingsDep, token: BearerToken) -> None:
    """Refuse a request that does not carry an admin token."""
    if not is_admin_token(settings.admin_token, token):
        raise Unauthorized("not an admin token")


async def require_supervisor(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """The admin, or a supervisor's token."""
    return principal.require(Role.ADMIN, Role.SUPERVISOR)


AgentDep = Annotated[Agent, Depends(current_agent)]
AdminDep = Depends(require_admin)
PrincipalDep = Annotated[Principal, Depends(current_principal)]
SupervisorDep = Annotated[Principal, Depends(require_supervisor)]
