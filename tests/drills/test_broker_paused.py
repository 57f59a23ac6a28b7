"""Drill: the broker stops answering (SIGSTOP) in the middle of ingest, then comes back."""

import asyncio

import httpx
import pytest

from tests.drills.support import (
    CHAT_APP,
    METRICS_APP,
    drill_tag,
    events_on_topic,
    eventually,
    metrics_counts,
    own_broker,
    post_message,
    retry_refused,
    services_on,
)

BEFORE, DURING, AFTER = range(0, 40), range(40, 70), range(70, 110)


@pytest.mark.timeout(300)
async def test_paused_broker_gets_503s_and_every_message_counts_once(database_url: str) -> None:
    tag = drill_tag()
    with own_broker() as broker:
        async with (
            services_on(broker, database_url, chat=CHAT_APP, metrics=METRICS_APP) as (_, procs),
            httpx.AsyncClient(base_url=procs["chat"].base_url, timeout=30) as client,
        ):
            before = [await post_message(client, tag, n) for n in BEFORE]
            broker.pause()
            try:
                during = await asyncio.gather(*(post_message(client, tag, n) for n in DURING))
            finally:
                broker.resume()
            after = [await post_message(client, tag, n) for n in AFTER]
            # The provider retries every 503 until it is accepted.
            retried = dict(zip(DURING, during, strict=True))
            await retry_refused(client, tag, retried)

            assert set(before) == {202}
            assert set(during) == {503}, "a connector answered 2xx while the broker was paused"
            assert set(after) == {202}
            assert set(retried.values()) == {202}

            total = len(BEFORE) + len(DURING) + len(AFTER)
            # Each message is one event and one conversation, counted once however often sent.
            counts = await eventually(lambda: metrics_counts(database_url, tag), (total, total))
            assert counts == (total, total)
            on_topic = await events_on_topic(broker.bootstrap, tag, at_least=total)
            assert len({e.event_id for e in on_topic}) == total
