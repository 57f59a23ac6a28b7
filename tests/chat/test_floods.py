"""Floods of the public visitor API: sessions, messages, streams, frames, attributes, history."""

from __future__ import annotations

import httpx
import pytest

from tests.chat.conftest import chat_app
from tests.chat.test_website_chat import open_session
from tests.support.server import serving


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
    app = chat_app()
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
