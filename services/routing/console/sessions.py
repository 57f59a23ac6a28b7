"""Console sign-in: one-time links an admin hands an agent, and the sessions they open.

A link's token travels in the URL's fragment (``/console/#signin=...``), which browsers never
send to a server, so it is in no access log; the console posts it once and removes it from
the address bar. Tokens and session ids are random and kept only as SHA-256 hashes.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.routing.domain import Agent
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.errors import NotFound, Unauthorized

#: How long expired links and sessions stay (to tell "used" or "expired" apart when asked).
KEPT_AFTER_EXPIRY = timedelta(days=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class SigninLink:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class ConsoleSession:
    session_id: str
    agent: Agent
    expires_at: datetime


async def create_signin_link(uow: UnitOfWork, *, agent_id: uuid.UUID, ttl_s: float) -> SigninLink:
    """A one-time sign-in token for the agent, usable for ``ttl_s`` seconds."""
    if await uow.agents.get(agent_id) is None:
        raise NotFound("no such agent")
    token = secrets.token_urlsafe(32)
    at = utc_now()
    expires_at = at + timedelta(seconds=ttl_s)
    await uow.sessions.add_link(
        token_hash=_hash(token), agent_id=agent_id, at=at, expires_at=expires_at
    )
    # Housekeeping where it is cheap and rare: links and sessions a day past their expiry.
    await uow.sessions.forget_expired(at - KEPT_AFTER_EXPIRY)
    return SigninLink(token=token, expires_at=expires_at)


async def sign_in(uow: UnitOfWork, *, token: str, ttl_s: float) -> ConsoleSession:
    """Use a sign-in link (once) and open a session of ``ttl_s`` seconds for its agent."""
    at = utc_now()
    agent_id = await uow.sessions.use_link(_hash(token), at=at)
    if agent_id is None:
        raise Unauthorized("the sign-in link is unknown, used or expired: ask for a new one")
    agent = await uow.agents.get(agent_id)
    assert agent is not None  # links reference agents, who are never deleted
    session_id = secrets.token_urlsafe(32)
    expires_at = at + timedelta(seconds=ttl_s)
    await uow.sessions.add_session(
        id_hash=_hash(session_id), agent_id=agent_id, at=at, expires_at=expires_at
    )
    return ConsoleSession(session_id=session_id, agent=agent, expires_at=expires_at)


async def agent_of_session(uow: UnitOfWork, *, session_id: str) -> Agent | None:
    """The agent of a live session, if the id is one."""
    return await uow.sessions.agent_of_session(_hash(session_id), at=utc_now())


async def sign_out(uow: UnitOfWork, *, session_id: str) -> None:
    """Revoke the session: its cookie opens nothing from now on."""
    await uow.sessions.revoke(_hash(session_id), at=utc_now())
