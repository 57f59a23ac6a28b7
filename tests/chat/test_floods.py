"""Floods of the public visitor API: sessions, messages, streams, frames, attributes, history."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import websockets

from tests.chat.conftest import chat_app
from tests.chat.test_website_chat import open_session
from tests.support.server import serving


def assert_too_many(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["retry-after"]) >= 1
    assert answer.json()["error"] == "too_many_requests"
    assert answer.json()["message"]


#: The address the limit tests call from. Not 127.0.0.1: uvicorn itself believes
#: X-Forwarded-For from that peer by default (its --forwarded-allow-ips).
VISITOR = "127.0.0.2"


def visitor_client(url: str) -> httpx.AsyncClient:
    transport = httpx.AsyncHTTPTransport(local_address=VISITOR)
    return httpx.AsyncClient(base_url=url, transport=transport, timeout=30)


async def test_one_address_cannot_open_sessions_without_end(stack_env: None) -> None:
    # The defaults: 10 sessions a minute per address; X-Forwarded-For is no way around them.
    async with serving(chat_app()) as url, visitor_client(url) as chat:
        for index in range(10):
            forwarded = {"X-Forwarded-For": f"203.0.113.{index}"}
            opened = await chat.post("/chat/sessions", json={}, headers=forwarded)
            assert opened.status_code == 201, (index, opened.text)
        refused = await chat.post(
            "/chat/sessions", json={}, headers={"X-Forwarded-For": "198.51.100.7"}
        )
    assert_too_many(refused)


async def test_behind_a_trusted_proxy_each_visitor_and_each_site_has_a_limit(
    stack_env: None,
) -> None:
    app = chat_app(
        CHAT_TRUSTED_PROXIES=f"{VISITOR}, 10.0.0.0/8",
        CHAT_SESSIONS_PER_MINUTE_PER_ADDRESS="2",
        CHAT_SESSIONS_PER_MINUTE_PER_ORIGIN="5",
    )
    site = {"Origin": "https://shop.example.com"}
    async with serving(app) as url, visitor_client(url) as chat:

        async def open_from(address: str, headers: dict[str, str] | None = None) -> int:
            forwarded = {"X-Forwarded-For": f"{address}, 10.0.0.1", **(headers or {})}
            return (await chat.post("/chat/sessions", json={}, headers=forwarded)).status_code

        assert [await open_from("203.0.113.1") for _ in range(3)] == [201, 201, 429]
        assert await open_from("203.0.113.2") == 201
        # One site's visitors together: the origin-wide ceiling.
        answers = [await open_from(f"198.51.100.{index}", site) for index in range(6)]
        assert answers == [201] * 5 + [429]
        refused = await chat.post(
            "/chat/sessions", json={}, headers={"X-Forwarded-For": "192.0.2.9", **site}
        )
    assert_too_many(refused)


async def test_a_session_cannot_flood_messages(stack_env: None) -> None:
    app = chat_app(CHAT_MESSAGES_PER_MINUTE_PER_SESSION="5")
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as chat:
        _, auth = await open_session(chat)
        statuses = []
        for index in range(6):
            message = {"text": f"spam {index}", "client_message_id": f"s-{index}"}
            answer = await chat.post("/chat/messages", json=message, headers=auth)
            statuses.append(answer.status_code)
        _, other = await open_session(chat)
        elsewhere = await chat.post(
            "/chat/messages", json={"text": "hi", "client_message_id": "o"}, headers=other
        )
    assert statuses == [202] * 5 + [429]
    assert_too_many(answer)
    assert elsewhere.status_code == 202


async def closed_with(socket: websockets.ClientConnection) -> tuple[int, str]:
    """The close code and reason of a stream of a session without messages."""
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 10)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def test_a_token_holds_a_few_streams_at_most(chat: httpx.AsyncClient, chat_url: str) -> None:
    _, auth = await open_session(chat)
    token = auth["Authorization"].removeprefix("Bearer ")
    stream_url = chat_url.replace("http", "ws") + f"/chat/stream?token={token}"
    async with (
        websockets.connect(stream_url) as first,
        websockets.connect(stream_url),
        websockets.connect(stream_url),
        websockets.connect(stream_url) as fourth,
    ):
        code, reason = await closed_with(fourth)
        assert (code, "stream" in reason) == (4429, True)
        await first.close()
        await asyncio.sleep(0.2)
        # A stream closed frees its place.
        async with websockets.connect(stream_url) as again:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(again.recv(), 0.5)


async def test_an_address_holds_a_bounded_number_of_streams(stack_env: None) -> None:
    app = chat_app(CHAT_STREAMS_PER_ADDRESS="2")
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as chat:
        tokens = []
        for _ in range(3):
            opened = await chat.post("/chat/sessions", json={})
            tokens.append(opened.json()["token"])
        ws = url.replace("http", "ws") + "/chat/stream?token="
        async with (
            websockets.connect(ws + tokens[0]),
            websockets.connect(ws + tokens[1]),
            websockets.connect(ws + tokens[2]) as third,
        ):
            code, _ = await closed_with(third)
    assert code == 4429


async def test_a_large_websocket_frame_closes_the_stream(
    chat: httpx.AsyncClient, chat_url: str
) -> None:
    _, auth = await open_session(chat)
    token = auth["Authorization"].removeprefix("Bearer ")
    stream_url = chat_url.replace("http", "ws") + f"/chat/stream?token={token}"
    async with websockets.connect(stream_url) as socket:
        await socket.send("x" * 4096)  # at the limit: kept
        await socket.send("x" * 5000)
        code, _ = await closed_with(socket)
    assert code == 1009


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({f"k{index}": "v" for index in range(21)}, "attributes"),
        ({"k" * 65: "v"}, "attributes"),
        ({"plan": "v" * 257}, "attributes.plan"),
        ({f"k{index}": "v" * 250 for index in range(17)}, "attributes"),
    ],
    ids=["too many", "long key", "long value", "too large in all"],
)
async def test_visitor_attributes_are_bounded(
    chat: httpx.AsyncClient, attributes: dict[str, str], field: str
) -> None:
    answer = await chat.post("/chat/sessions", json={"attributes": attributes})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "unprocessable_entity"
    assert [problem["field"] for problem in answer.json()["detail"]] == [field]


async def test_the_largest_allowed_attributes_are_accepted(chat: httpx.AsyncClient) -> None:
    # 20 names of 64 characters, values of up to 256: 4,0xx bytes as JSON.
    attributes = {f"{index:02d}" + "k" * 62: "v" * 120 for index in range(19)}
    attributes["plan"] = "v" * 256
    answer = await chat.post("/chat/sessions", json={"attributes": attributes})
    assert answer.status_code == 201, answer.text


async def test_history_comes_in_pages(stack_env: None) -> None:
    app = chat_app(CHAT_MESSAGES_PER_MINUTE_PER_SESSION="1000")
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as chat:
        _, auth = await open_session(chat)
        for index in range(7):
            message = {"text": f"m{index}", "client_message_id": f"m{index}"}
            sent = await chat.post("/chat/messages", json=message, headers=auth)
            assert sent.status_code == 202
        texts: list[str] = []
        after = 0
        pages = 0
        while after is not None:
            page = await chat.get(f"/chat/messages?after={after}&limit=3", headers=auth)
            assert page.status_code == 200, page.text
            texts += [message["text"] for message in page.json()["messages"]]
            after = page.json()["next_after"]
            pages += 1
        default = (await chat.get("/chat/messages", headers=auth)).json()
        too_many = await chat.get("/chat/messages?limit=201", headers=auth)
    assert texts == [f"m{index}" for index in range(7)]
    assert pages == 3
    assert len(default["messages"]) == 7
    assert default["next_after"] is None
    assert too_many.status_code == 422
