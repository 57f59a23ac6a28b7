"""Signing agents into the console, as a browser would (the cookie, the Origin header)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.routing.support import Routing

COOKIE = "switchboard_console"


async def signin_url(routing: Routing, agent_id: str) -> str:
    """A one-time sign-in link for the agent, as the admin API answers it."""
    response = await routing.admin.post(f"/admin/agents/{agent_id}/signin-link")
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    return url


def token_of(url: str) -> str:
    prefix = "/console/#signin="
    assert url.startswith(prefix), url
    return url.removeprefix(prefix)


def browser_client(routing: Routing, *, origin: str | None = None) -> httpx.AsyncClient:
    """A client without a bearer token that sends the console's Origin, like its pages."""
    headers = {"Origin": origin if origin is not None else routing.url}
    return httpx.AsyncClient(base_url=routing.url, headers=headers)


async def exchange(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/console/session", json={"token": token})


async def signed_in(routing: Routing, agent_id: str) -> httpx.AsyncClient:
    """A client holding a fresh console session cookie of the agent."""
    client = browser_client(routing)
    response = await exchange(client, token_of(await signin_url(routing, agent_id)))
    assert response.status_code == 201, response.text
    return client


def json_of(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def session_cookie(routing: Routing, agent_id: str) -> str:
    """The value of a fresh console session cookie of the agent."""
    client = await signed_in(routing, agent_id)
    try:
        return client.cookies[COOKIE]
    finally:
        await client.aclose()
