"""The console's pages, and its sign-in and sign-out."""

from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Cookie, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.routing.console import auth, sessions
from services.routing.console.schemas import SessionOut, SigninBody
from services.routing.deps import SettingsDep, UnitOfWorkDep
from services.routing.schemas import AgentOut
from shared.errors import NotFound

router = APIRouter(prefix="/console", tags=["console"])

STATIC = files("services.routing.console") / "static"
#: The console's files and their types: nothing else is served.
ASSETS = {
    "console.css": "text/css",
    "console.js": "text/javascript",
    "agent.js": "text/javascript",
    "supervisor.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}
#: Scripts and styles only from the console's own files: no inline script, no other site.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("", include_in_schema=False)
async def console_root() -> RedirectResponse:
    return RedirectResponse("/console/", status_code=308)


@router.get("/", response_class=HTMLResponse)
async def console_page() -> HTMLResponse:
    """The agent console (and, for supervisors, the supervisor view)."""
    return HTMLResponse((STATIC / "index.html").read_text(), headers=SECURITY_HEADERS)


@router.get("/{name}", include_in_schema=False)
async def console_asset(name: str) -> Response:
    if name not in ASSETS:
        raise NotFound("no such file")
    body = (STATIC / name).read_text()
    return Response(body, media_type=ASSETS[name], headers=SECURITY_HEADERS)


@router.post("/session", response_model=SessionOut, status_code=201)
async def sign_in(
    body: SigninBody,
    request: Request,
    response: Response,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
) -> SessionOut:
    """Exchange a one-time sign-in link's token for a session cookie (401 if the link is
    unknown, used or expired)."""
    auth.check_origin(request, settings)
    session = await uow.run(
        sessions.sign_in, token=body.token, ttl_s=settings.console_session_ttl_s
    )
    auth.set_session_cookie(response, request, settings, session)
    response.headers["Cache-Control"] = "no-store"
    return SessionOut(agent=AgentOut.model_validate(session.agent), expires_at=session.expires_at)


@router.delete("/session", status_code=204)
async def sign_out(
    request: Request,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    session_id: Annotated[str | None, Cookie(alias=auth.SESSION_COOKIE)] = None,
) -> Response:
    """Sign out: the session is revoked on the server and its cookie cleared."""
    auth.check_origin(request, settings)
    if session_id:
        await uow.run(sessions.sign_out, session_id=session_id)
    response = Response(status_code=204)
    auth.clear_session_cookie(response, request, settings)
    return response
