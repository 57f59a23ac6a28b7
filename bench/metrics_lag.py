"""Metrics lag: from an event acknowledged on the topic to its count visible in ``GET /kpis``.

A steady background load of chat events goes onto ``interactions.v1`` while, twice a second,
one marker event with a provider name of its own is published; the probe reads ``GET /kpis``
every 50 ms and notes when each marker's provider first shows in ``volume_by_provider``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from bench.routing_bench import percentiles
from bench.stack import METRICS_READER, Stack, fresh_broker
from services.chat.schemas import GenericChatMessage
from services.chat.service import normalize_generic
from shared.kafka import interaction_record

METRICS_APP = "services.metrics.app:create_app"


def _record(provider: str, n: int) -> tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]:
    message = GenericChatMessage.model_validate(
        {
            "message_id": f"{provider}-m{n}",
            "conversation_id": f"{provider}-c{n}",
            "sender": {"id": f"{provider}-v{n}"},
            "text": "Where is my parcel?",
            "source": provider,
        }
    )
    record = interaction_record(normalize_generic(message, received_at=datetime.now(UTC)))
    return record.topic, record.key, record.value, list(record.headers)


async def _run(
    bootstrap: str, metrics_url: str, *, tag: str, rate: float, duration_s: float
) -> dict[str, Any]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=2)
    await producer.start()
    published: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = asyncio.Event()

    async def background() -> int:
        sent, started = 0, time.monotonic()
        while (elapsed := time.monotonic() - started) < duration_s:
            due = int(elapsed * rate)
            batch = [
                await producer.send(topic, value, key=key, headers=headers)
                for topic, key, value, headers in (_record(f"{tag}bg", n) for n in range(sent, due))
            ]
            sent = due
            if batch:
                await asyncio.gather(*batch)
            await asyncio.sleep(0.01)
        return sent

    async def markers() -> None:
        started = time.monotonic()
        k = 0
        while time.monotonic() - started < duration_s:
            provider = f"{tag}mk{k}"
            topic, key, value, headers = _record(provider, 0)
            await producer.send_and_wait(topic, value, key=key, headers=headers)
            published[provider] = time.monotonic()
            k += 1
            await asyncio.sleep(0.5)

    async def probe(client: httpx.AsyncClient) -> None:
        while not done.is_set() or len(seen) < len(published):
            now = datetime.now(UTC)
            params = {
                "granularity": "minute",
                "start": (now - timedelta(minutes=10)).isoformat(),
                "end": (now + timedelta(minutes=2)).isoformat(),
                "channel": "chat",
            }
            response = await client.get("/kpis", params=params)
            at = time.monotonic()
            if response.is_success:
                for line in response.json()["volume_by_provider"]:
                    if line["provider"] in published and line["provider"] not in seen:
                        seen[line["provider"]] = at
            if done.is_set() and time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)

    try:
        async with httpx.AsyncClient(
            base_url=metrics_url, headers=METRICS_READER, timeout=10
        ) as client:
            deadline = time.monotonic() + duration_s + 30
            prober = asyncio.create_task(probe(client))
            sent, _ = await asyncio.gather(background(), markers())
            done.set()
            await prober
    finally:
        await producer.stop()
    lags = [(seen[p] - published[p]) * 1000 for p in published if p in seen]
    return {
        "background_rate_per_s": rate,
        "background_events": sent,
        "markers": len(published),
        "markers_seen": len(lags),
        "lag_ms": percentiles(lags),
    }


def measure(
    stack: Stack, *, stamp: str, rates: tuple[float, ...] = (500, 2000), duration_s: float = 10
) -> list[dict[str, Any]]:
    """The lag at each background rate, one metrics process throughout."""
    results = []
    with fresh_broker(stack):
        metrics = stack.start("metrics", METRICS_APP)
        try:
            time.sleep(6)  # the consumer joins its group (tansu holds a join about 5 s)
            for rate in rates:
                with metrics.sampling_rss():
                    result = asyncio.run(
                        _run(
                            stack.broker.bootstrap,
                            metrics.base_url,
                            tag=f"lag{int(rate)}x{stamp[-6:]}",
                            rate=rate,
                            duration_s=duration_s,
                        )
                    )
                result["peak_rss_mb"] = round(metrics.peak_rss / 2**20, 1)
                print(f"  metrics lag: {result}", flush=True)
                results.append(result)
        finally:
            stack.stop(metrics)
    return results
