"""Drill: the broker is killed and an empty one starts on its port; the whole stack recovers.

The embedded broker keeps nothing: topics, records, committed offsets and groups are gone.
No service is restarted. (tests/platform/test_broker_faults.py covers one consumer loop; this
is every service.) The broker is restarted twice:

- under traffic: webhooks sent at once get 2xx (503 and the provider's retries meanwhile); once
  the services have created their topics again, webhooks are routed and counted exactly once;
- idle: the services notice and create their topics again by themselves; the webhooks sent then
  are routed, counted, and their lifecycle steps are on routing.v1, each conversation offered once.

What the embedded broker (tansu 0.6.0) acknowledges for a topic it no longer lists is dropped
or shadowed once a service creates the topic again (Apache Kafka keeps its topics across a
restart): the webhooks sent in that window are only checked to be counted at most once. A
topic that a client only asked about comes back with 4 partitions while producers still write
to the 6 they knew, so routing.v1 is read partition by partition, not through the metadata.
"""

import asyncio

import httpx
import pytest

from shared.events import INTERACTIONS_TOPIC, ROUTING_TOPIC
from shared.settings import PlatformSettings
from tests.drills.support import (
    WHOLE_STACK,
    drill_tag,
    eventually,
    listed_topics,
    metrics_counts,
    offers_made,
    offers_on_topic,
    own_broker,
    post_message,
    queue_with_agents,
    ready_checks,
    retry_refused,
    services_on,
)

BEFORE, WAVE = 40, 30
AGENTS, CAPACITY = 10, 10
OUR_TOPICS = {INTERACTIONS_TOPIC, ROUTING_TOPIC}


async def accepted_wave(client: httpx.AsyncClient, tag: str, numbers: range) -> None:
    """Send a wave of messages, retrying refused ones as a provider would, until all are 2xx."""
    statuses = {n: await post_message(client, tag, n) for n in numbers}
    seen = await retry_refused(client, tag, statuses, attempts=60)
    assert seen <= {202, 503}, seen
    assert set(statuses.values()) == {202}


async def routed_and_counted(database_url: str, tag: str, count: int) -> None:
    """Every one of ``count`` messages counted once by metrics and offered once by routing."""
    expected = (count, count)
    assert await eventually(lambda: metrics_counts(database_url, tag), expected) == expected
    assert await eventually(lambda: offers_made(database_url, tag), expected) == expected


async def topics_created_again(bootstrap: str) -> None:
    for _ in range(60):
        if await listed_topics(bootstrap) >= OUR_TOPICS:
            return
        await asyncio.sleep(1)
    raise AssertionError(f"the services did not create {OUR_TOPICS} again")


@pytest.mark.timeout(300)
async def test_broker_restarted_empty_every_service_recovers_by_itself(database_url: str) -> None:
    before, window, busy, idle = (drill_tag() for _ in range(4))
    with own_broker() as broker:
        async with (
            services_on(broker, database_url, **WHOLE_STACK) as (_, procs),
            httpx.AsyncClient(base_url=procs["chat"].base_url, timeout=30) as client,
        ):
            pids = {name: process.popen.pid for name, process in procs.items()}
            for tag in (before, window, busy, idle):
                await queue_with_agents(
                    procs["routing"].base_url, tag, agents=AGENTS, capacity=CAPACITY
                )
            await accepted_wave(client, before, range(BEFORE))
            # Both consumers have committed offsets the new broker will not know.
            await routed_and_counted(database_url, before, BEFORE)

            # Under traffic. A consumer handles its first batch after the restart, then
            # committing its offsets fails for as long as the broker does not know the topics:
            # it must not hang there, or the later waves are never routed nor counted.
            await asyncio.to_thread(broker.restart)
            await accepted_wave(client, window, range(WAVE))
            await topics_created_again(broker.bootstrap)
            for n in range(0, 2 * WAVE, WAVE):
                await accepted_wave(client, busy, range(n, n + WAVE))
                await routed_and_counted(database_url, busy, n + WAVE)
            counted, conversations = await metrics_counts(database_url, window)
            offers, offered = await offers_made(database_url, window)
            assert max(counted, conversations, offers, offered) <= WAVE

            # Idle: the services notice the lost state and create their topics again.
            await asyncio.to_thread(broker.restart)
            await topics_created_again(broker.bootstrap)
            await accepted_wave(client, idle, range(WAVE))
            await routed_and_counted(database_url, idle, WAVE)
            on_topic = await offers_on_topic(
                broker.bootstrap,
                idle,
                at_least=WAVE,
                partitions=PlatformSettings().kafka_topic_partitions,
            )
            assert len({e.event_id for e in on_topic}) == WAVE
            assert len({e.conversation_id for e in on_topic}) == WAVE

            # Nothing was replayed into the earlier waves.
            assert await metrics_counts(database_url, before) == (BEFORE, BEFORE)
            assert await offers_made(database_url, before) == (BEFORE, BEFORE)
            assert await metrics_counts(database_url, busy) == (2 * WAVE, 2 * WAVE)
            assert {name: p.popen.pid for name, p in procs.items()} == pids
            assert set((await ready_checks(procs)).values()) == {200}
