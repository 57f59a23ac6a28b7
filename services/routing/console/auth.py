"""Requests authenticated by the console's session cookie, and the origin they must come from.

The cookie is SameSite=Strict, so other sites' pages do not send it; a state-changing request
made with it must also carry an ``Origin`` header naming the console's own origin (defence in
depth against cross-site requests, for browsers or proxies that drop SameSite).
"""

from fastapi import Request, Response

from services.routing.console import sessions
from services.routing.domain import Agent
from services.routing.settings import RoutingSettings
from services.routing.unit_of_work import UnitOfWork
from shared.db import Database
from shared.errors import Forbidden, Unauthorized

#: The console's session cookie.
SESSION_COOKIE = "switchboard_console"
#: Methods that change nothing: the origin is not checked for them.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def own_origin(request: Request, settings: RoutingSettings) -> str:
    """The console's origin: the configured one, else the one the request was made to."""
    if settings.console_origin:
        return settings.console_origin.rstrip("/")
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}"


def check_origin(request: Request, settings: RoutingSettings) -> None:
    """Refuse a state-changing request whose Origin is missing or another site's."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is None or origin.rstrip("/") != own_origin(request, settings):
        raise Forbidden("a request with the console's cookie must come from the console's origin")


def has_session_cookie(request: Request) -> bool:
    return bool(request.cookies.get(SESSION_COOKIE))


async def cookie_agent(request: Request, database: Database, settings: RoutingSettings) -> Agent:
    """The agent whose console session cookie the request carries (origin checked)."""
    check_origin(request, settings)
    async with UnitOfWork(database) as uow:
        agent = await sessions.agent_of_session(uow, session_id=request.cookies[SESSION_COOKIE])
    if agent is None:
        raise Unauthorized("the console session ended: sign in again")
    return agent


def set_session_cookie(
    response: Response,
    request: Request,
    settings: RoutingSettings,
    session: sessions.ConsoleSession,
) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        session.session_id,
        max_age=int(settings.console_session_ttl_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=own_origin(request, settings).startswith("https://"),
    )


def clear_session_cookie(response: Response, request: Request, settings: RoutingSettings) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=own_origin(request, settings).startswith("https://"),
    )
