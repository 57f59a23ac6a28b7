"""The console behind a TLS-terminating proxy: ROUTING_CONSOLE_ORIGIN names the public
origin, which cookie requests must come from and which makes the cookie Secure."""

from __future__ import annotations

from tests.routing.console_support import COOKIE, browser_client, exchange, signin_url, token_of
from tests.routing.support import Routing

PUBLIC = "https://support.example.com"
ROUTING_SETTINGS = {"console_origin": PUBLIC + "/"}


async def test_the_public_origin_is_the_only_one_and_the_cookie_is_secure(
    routing: Routing,
) -> None:
    agent = await routing.agent()
    token = token_of(await signin_url(routing, agent.id))
    # The address the proxy talks to is not the console's origin any more.
    async with browser_client(routing) as inner:
        assert (await exchange(inner, token)).status_code == 403
    async with browser_client(routing, origin=PUBLIC) as browser:
        answer = await exchange(browser, token)
        assert answer.status_code == 201, answer.text
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "Secure" in cookie
        session_id = cookie.split(";")[0].split("=", 1)[1]
    async with browser_client(routing, origin=PUBLIC) as browser:
        # httpx keeps Secure cookies for https only: send it as the browser would.
        browser.cookies.set(COOKIE, session_id)
        changed = await browser.put("/agent/status", json={"status": "away"})
        assert changed.status_code == 200, changed.text
    async with browser_client(routing) as inner:
        inner.cookies.set(COOKIE, session_id)
        assert (await inner.put("/agent/status", json={"status": "offline"})).status_code == 403
