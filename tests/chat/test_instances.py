"""Several connector instances: a reply stored by one reaches a widget connected to another."""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from shared.kafka import EventProducer, interaction_record
from switchboard_dev.broker import Broker
from tests.chat.conftest import chat_app
from tests.chat.test_website_chat import agent_reply, open_session
from tests.support.server import serving


async def test_a_reply_read_by_another_instance_reaches_the_visitor(
    chat: httpx.AsyncClient,
    private_broker: Broker,
    database_url: str,
    producer: EventProducer,
) -> None:
    # This instance shares the database but reads another broker: it never sees the reply
    # itself, so only its look at Postgres can bring it to the visitor.
    elsewhere = chat_app(
        KAFKA_BOOTSTRAP_SERVERS=private_broker.bootstrap,
        DATABASE_URL=database_url,
        CHAT_STREAM_POLL_S="0.2",
    )
    key, auth = await open_session(chat)
    token = auth["Authorization"].removeprefix("Bearer ")
    async with serving(elsewhere) as url:
        stream_url = url.replace("http", "ws") + f"/chat/stream?token={token}"
        async with websockets.connect(stream_url) as socket:
            reply = agent_reply(key, "Answered from the other instance's consumer.")
            await producer.publish(interaction_record(reply))
            pushed = json.loads(await asyncio.wait_for(socket.recv(), 30))
    assert (pushed["author"], pushed["agent_id"]) == ("agent", "agent-7")
    assert pushed["text"] == "Answered from the other instance's consumer."
