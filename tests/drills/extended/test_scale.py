"""Drill: the stack scaled out on one machine, under sustained load, still counts exactly.

Two routing instances and two metrics instances share their consumer groups; each connector
runs two worker processes (the load goes through chat). Customers write steadily; afterwards
every message is one event, one conversation, offered once within capacity and counted once by
metrics, and the Prometheus totals of the processes add up to the same numbers.
"""

from __future__ import annotations

import asyncio
import re

import httpx

from bench.routing_bench import ROUTING_APP
from bench.stack import METRICS_READER, Process
from tests.drills.support import (
    CHAT_APP,
    METRICS_APP,
    drill_tag,
    eventually,
    metrics_counts,
    own_broker,
    post_message,
    queue_with_agents,
    scalar,
    services_on,
    start,
)

MESSAGES = 1500
CONCURRENCY = 16
AGENTS, CAPACITY = 200, 10

CONVERSATIONS_OPENED = "SELECT count(*) FROM routing.conversation WHERE provider = $1"
CONVERSATIONS_OFFERED = """
SELECT count(DISTINCT o.conversation_id) FROM routing.offer o
JOIN routing.conversation c ON c.id = o.conversation_id WHERE c.provider = $1
"""
MOST_OFFERS_PER_CONVERSATION = """
SELECT coalesce(max(n), 0) FROM (
  SELECT count(*) AS n FROM routing.offer o JOIN routing.conversation c ON c.id = o.conversation_id
  WHERE c.provider = $1 GROUP BY o.conversation_id) per_conversation
"""
MOST_HELD_PER_AGENT = """
SELECT coalesce(max(n), 0) FROM (
  SELECT count(*) AS n FROM routing.conversation c
  WHERE c.provider = $1 AND c.agent_id IS NOT NULL GROUP BY c.agent_id) per_agent
"""


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match[1] for k, v in labels.items()):
            total += float(match[2])
    return total


async def scrape(process: Process) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        return (await client.get(process.base_url + "/metrics")).text


async def test_two_of_everything_under_sustained_load_count_exactly(database_url: str) -> None:
    tag = drill_tag()
    with own_broker() as broker:
        async with services_on(broker, database_url, routing=ROUTING_APP, metrics=METRICS_APP) as (
            stack,
            procs,
        ):
            procs["routing-2"] = await asyncio.to_thread(start, stack, "routing-2", ROUTING_APP)
            procs["metrics-2"] = await asyncio.to_thread(start, stack, "metrics-2", METRICS_APP)
            # A loaded machine: give the broker the production default to acknowledge.
            stack.extra_env["KAFKA_PUBLISH_TIMEOUT_S"] = "5"
            procs["chat"] = await asyncio.to_thread(stack.start, "chat", CHAT_APP, workers=2)
            # The other connectors run two workers each too; the load goes through chat, whose
            # provider name the counts below filter by.
            for connector in ("email", "social", "phone"):
                procs[connector] = await asyncio.to_thread(
                    stack.start, connector, f"services.{connector}.app:create_app", workers=2
                )
            await queue_with_agents(
                procs["routing"].base_url, tag, agents=AGENTS, capacity=CAPACITY
            )

            statuses: dict[int, int] = {}
            limit = asyncio.Semaphore(CONCURRENCY)
            async with httpx.AsyncClient(base_url=procs["chat"].base_url, timeout=30) as chat:

                async def send(n: int) -> None:
                    async with limit:
                        try:
                            statuses[n] = await post_message(chat, tag, n)
                        except httpx.TransportError:
                            statuses[n] = 0  # no answer: the provider sends it again

                await asyncio.gather(*(send(n) for n in range(MESSAGES)))
                # What a provider does with a 503 or no answer: send again until accepted.
                for _ in range(60):
                    refused = [n for n, status in statuses.items() if status != 202]
                    if not refused:
                        break
                    await asyncio.sleep(1)
                    await asyncio.gather(*(send(n) for n in refused))
            assert sorted(statuses.values()).count(202) == MESSAGES

            counted = await eventually(
                lambda: metrics_counts(database_url, tag), (MESSAGES, MESSAGES), timeout=300
            )
            assert counted == (MESSAGES, MESSAGES)
            for _ in range(600):
                if await scalar(database_url, CONVERSATIONS_OFFERED, tag) == MESSAGES:
                    break
                await asyncio.sleep(0.5)
            assert await scalar(database_url, CONVERSATIONS_OPENED, tag) == MESSAGES
            assert await scalar(database_url, CONVERSATIONS_OFFERED, tag) == MESSAGES
            assert await scalar(database_url, MOST_OFFERS_PER_CONVERSATION, tag) == 1
            assert await scalar(database_url, MOST_HELD_PER_AGENT, tag) <= CAPACITY

            # The processes' own totals agree: the chat workers' scrape is both workers'.
            chat_text = await scrape(procs["chat"])
            accepted = sample(
                chat_text,
                "switchboard_http_requests_total",
                route="/webhooks/generic",
                status="202",
            )
            published = sample(
                chat_text, "switchboard_events_published_total", topic="interactions.v1"
            )
            # Retried messages were accepted again (same event id): at least one per message.
            assert accepted >= MESSAGES
            assert published >= MESSAGES
            for service in ("routing", "metrics"):
                consumed = 0.0
                for name in (service, f"{service}-2"):
                    consumed += sample(
                        await scrape(procs[name]),
                        "switchboard_events_consumed_total",
                        topic="interactions.v1",
                        outcome="ok",
                    )
                # Each record once per group, give or take what a rebalance handed over twice.
                assert consumed >= MESSAGES, (service, consumed)
            # Every connector's workers answer one set of totals, whichever answers the scrape.
            for connector in ("email", "social", "phone"):
                base = procs[connector].base_url
                async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                    before = sample(
                        (await client.get("/metrics")).text,
                        "switchboard_http_requests_total",
                        route="/readyz",
                    )
                for _ in range(20):  # new connections: spread over both workers
                    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                        assert (await client.get("/readyz")).status_code == 200
                totals = set()
                for _ in range(5):
                    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
                        text = (await client.get("/metrics")).text
                    totals.add(sample(text, "switchboard_http_requests_total", route="/readyz"))
                assert totals == {before + 20}, (connector, before, totals)
            async with httpx.AsyncClient(timeout=10, headers=METRICS_READER) as client:
                for name in ("metrics", "metrics-2"):
                    kpis = await client.get(procs[name].base_url + "/kpis")
                    assert kpis.status_code == 200
