"""Drill: routing SIGKILLed mid-stream and restarted."""

import asyncio
import signal

import httpx

from bench.routing_bench import ROUTING_APP
from tests.drills.extended.test_duplicates_and_restarts import publish_backlog
from tests.drills.support import (
    drill_tag,
    own_broker,
    queue_with_agents,
    scalar,
    services_on,
    start,
)

AGENTS, CAPACITY, CONVERSATIONS = 100, 5, 400

OFFERED = """
SELECT count(DISTINCT o.conversation_id) FROM routing.offer o
JOIN routing.conversation c ON c.id = o.conversation_id
WHERE c.provider = $1 AND o.state = 'pending'
"""
CONVERSATIONS_OPENED = "SELECT count(*) FROM routing.conversation WHERE provider = $1"
MOST_PENDING_PER_CONVERSATION = """
SELECT coalesce(max(n), 0) FROM (
  SELECT count(*) AS n FROM routing.offer o JOIN routing.conversation c ON c.id = o.conversation_id
  WHERE c.provider = $1 AND o.state = 'pending' GROUP BY o.conversation_id) per_conversation
"""
MOST_HELD_PER_AGENT = """
SELECT coalesce(max(n), 0) FROM (
  SELECT count(*) AS n FROM routing.offer o JOIN routing.conversation c ON c.id = o.conversation_id
  WHERE c.provider = $1 AND o.state = 'pending' GROUP BY o.agent_id) per_agent
"""


async def test_routing_killed_mid_stream_offers_each_conversation_once(database_url: str) -> None:
    tag = drill_tag()
    with own_broker() as broker:
        async with services_on(broker, database_url, routing=ROUTING_APP) as (stack, procs):
            await queue_with_agents(
                procs["routing"].base_url, tag, agents=AGENTS, capacity=CAPACITY
            )
            await publish_backlog(broker.bootstrap, tag, CONVERSATIONS)
            for _ in range(1200):
                if await scalar(database_url, OFFERED, tag) > 0:
                    break
                await asyncio.sleep(0.05)
            procs["routing"].popen.send_signal(signal.SIGKILL)
            procs["routing"].popen.wait()
            offered_at_kill = await scalar(database_url, OFFERED, tag)
            assert 0 < offered_at_kill < CONVERSATIONS, "the kill did not land mid-stream"

            restarted = await asyncio.to_thread(start, stack, "routing", ROUTING_APP)
            for _ in range(360):
                if await scalar(database_url, OFFERED, tag) == CONVERSATIONS:
                    break
                await asyncio.sleep(0.5)
            await asyncio.sleep(3)  # a second offer of the same conversation would show now

            assert await scalar(database_url, OFFERED, tag) == CONVERSATIONS
            assert await scalar(database_url, CONVERSATIONS_OPENED, tag) == CONVERSATIONS
            assert await scalar(database_url, MOST_PENDING_PER_CONVERSATION, tag) == 1
            assert await scalar(database_url, MOST_HELD_PER_AGENT, tag) <= CAPACITY
            async with httpx.AsyncClient(base_url=restarted.base_url) as client:
                assert (await client.get("/readyz")).status_code == 200
