"""Queue language routing fed by a real connector: the chat webhook detects each message's
language, and routing places the conversation in the queue of that language."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.chat.app import create_app as create_chat
from shared.events import Content, Customer
from tests.factories import interaction
from tests.routing.support import Routing, eventually, tag, types
from tests.support.server import serving
from tests.support.webhooks import standard_signed

DEV_SECRET = "dev-generic-secret"  # the chat connector's development default

#: A placed conversation waits in its queue, or is already offered to an agent who is free.
PLACED = ("queued", "offered", "assigned")


@pytest.fixture(scope="module")
async def chat(stack_env: None) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_chat()) as url, httpx.AsyncClient(base_url=url) as client:
        yield client


async def customer_writes(
    chat: httpx.AsyncClient,
    *,
    source: str,
    text: str,
    language: str | None = None,
    conversation: str | None = None,
) -> str:
    """Post one customer message to the generic chat webhook (in a new conversation unless
    given); its conversation key."""
    conversation = conversation or f"c-{uuid.uuid4().hex}"
    message: dict[str, object] = {
        "message_id": f"m-{uuid.uuid4().hex}",
        "conversation_id": conversation,
        "sender": {"id": f"u-{conversation[-8:]}"},
        "text": text,
        "source": source,
    }
    if language is not None:
        message["language"] = language
    body = json.dumps(message).encode()
    answer = await chat.post(
        "/webhooks/generic", content=body, headers=standard_signed(DEV_SECRET, body)
    )
    assert answer.status_code == 202, answer.text
    return f"{source}:{conversation}"


async def test_french_german_and_spanish_messages_land_in_their_queues(
    routing: Routing, chat: httpx.AsyncClient
) -> None:
    # The tag as the chat source keeps other tests' conversations out of these queues, and
    # as a skill nobody has, keeps these waiting conversations from other modules' agents.
    t = tag()
    queues = {}
    for language in ("fr", "de", "es"):
        queue = await routing.queue(providers=[t], language=language, required_skills=[t])
        queues[language] = queue["name"]
    anyone = (await routing.queue(providers=[t], required_skills=[t]))["name"]
    messages = {
        "fr": "Bonjour, ma commande n'est toujours pas arrivée",
        "de": "Hallo, meine Bestellung ist noch nicht angekommen",
        "es": "Hola, mi pedido todavía no ha llegado",
        # English has no queue of its own: the queue without a language takes it.
        "en": "Hi, my order hasn't arrived yet",
    }
    keys = {
        language: await customer_writes(chat, source=t, text=text)
        for language, text in messages.items()
    }

    for language, key in keys.items():
        conversation = await routing.conversation_in(key, *PLACED)
        assert conversation["language"] == language
        assert conversation["queue_name"] == queues.get(language, anyone), language


async def test_a_text_too_short_to_tell_waits_in_the_queue_without_a_language(
    routing: Routing, chat: httpx.AsyncClient
) -> None:
    t = tag()
    await routing.queue(providers=[t], language="fr", required_skills=[t])
    anyone = (await routing.queue(providers=[t], required_skills=[t]))["name"]

    key = await customer_writes(chat, source=t, text="Merci")

    conversation = await routing.conversation_in(key, *PLACED)
    assert conversation["language"] is None
    assert conversation["queue_name"] == anyone


async def test_the_language_the_chat_tool_states_wins_over_the_text(
    routing: Routing, chat: httpx.AsyncClient
) -> None:
    t = tag()
    german = (await routing.queue(providers=[t], language="de", required_skills=[t]))["name"]
    await routing.queue(providers=[t], language="en", required_skills=[t])

    # English words from a customer the tool knows to speak German (de-AT).
    key = await customer_writes(chat, source=t, text="Where is my package?", language="de-AT")

    conversation = await routing.conversation_in(key, *PLACED)
    assert conversation["language"] == "de"
    assert conversation["queue_name"] == german


async def test_a_later_message_gives_a_queued_conversation_its_language_and_queue(
    routing: Routing, chat: httpx.AsyncClient
) -> None:
    # Required skills nobody has: the conversations wait unoffered.
    t = tag()
    french = (await routing.queue(providers=[t], language="fr", required_skills=[t]))["name"]
    anyone = (await routing.queue(providers=[t], required_skills=[t]))["name"]

    key = await customer_writes(chat, source=t, text="Hi")
    conversation = await routing.conversation_in(key, "queued")
    assert (conversation["language"], conversation["queue_name"]) == (None, anyone)

    thread = key.removeprefix(f"{t}:")
    await customer_writes(
        chat, source=t, text="Bonjour, ma commande n'est toujours pas arrivée", conversation=thread
    )

    async def moved() -> dict[str, Any] | None:
        row = await routing.conversation(key)
        return row if row is not None and row["queue_name"] == french else None

    conversation = await eventually(moved, what="the conversation to move to the French queue")
    assert (conversation["language"], conversation["status"]) == ("fr", "queued")
    assert conversation["inbound_count"] == 2
    steps = await routing.lifecycle(key, lambda es: "requeued" in types(es))
    [requeued] = [e for e in steps if e["type"] == "conversation.requeued"]
    assert (requeued["queue"], requeued["note"]) == (french, "language: fr")

    # Its language is taken once: a message in another language moves it no more.
    await customer_writes(
        chat,
        source=t,
        text="Hallo, meine Bestellung ist noch nicht angekommen",
        conversation=thread,
    )
    await routing.conversation_in(key, "queued")
    steps = await routing.lifecycle(key, lambda es: True, settle=2.0)
    assert types(steps).count("requeued") == 1
    assert (await routing.conversation(key) or {})["language"] == "fr"


async def test_an_accepted_conversation_keeps_no_language(
    routing: Routing, chat: httpx.AsyncClient
) -> None:
    t = tag()
    await routing.queue(providers=[t], language="fr", required_skills=[t])
    anyone = (await routing.queue(providers=[t], required_skills=[t]))["name"]
    # Room for the conversations earlier tests left in queues any agent takes.
    agent = await routing.agent(status="available", skills=[t], capacity={"chat": 20})

    key = await customer_writes(chat, source=t, text="Hi")
    await agent.take(key)
    await customer_writes(
        chat,
        source=t,
        text="Bonjour, ma commande n'est toujours pas arrivée",
        conversation=key.removeprefix(f"{t}:"),
    )

    async def counted() -> dict[str, Any] | None:
        row = await routing.conversation(key)
        return row if row is not None and row["inbound_count"] == 2 else None

    conversation = await eventually(counted, what="the second message to be counted")
    assert (conversation["status"], conversation["language"]) == ("assigned", None)
    assert conversation["queue_name"] == anyone
    await agent.status("offline")


async def test_hi_and_a_french_message_together_open_a_french_conversation(
    routing: Routing,
) -> None:
    t = tag()
    french = (await routing.queue(providers=[t], language="fr", required_skills=[t]))["name"]
    await routing.queue(providers=[t], required_skills=[t])
    key = f"{t}:{uuid.uuid4().hex}"
    customer = Customer(id=f"visitor-{t}", kind="session")
    hello = interaction(
        provider=t, conversation_key=key, customer=customer, content=Content(text="Hi")
    )
    detail = interaction(
        provider=t,
        conversation_key=key,
        customer=customer,
        content=Content(text="Bonjour, ma commande n'est toujours pas arrivée", language="fr"),
    )
    # Published together: usually one batch, where the first message opens the conversation.
    await routing.publish(hello, detail)

    async def french_queued() -> dict[str, Any] | None:
        row = await routing.conversation(key)
        return row if row is not None and row["queue_name"] == french else None

    conversation = await eventually(french_queued, what="the conversation in the French queue")
    assert (conversation["language"], conversation["inbound_count"]) == ("fr", 2)
