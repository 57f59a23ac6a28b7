"""Sustained load through every service at once, and each service's peak memory under it.

All six services run; the chat and the social connector get webhooks at a steady combined
rate (conversations of ``payloads.THREAD`` messages each). The figures: the rate achieved,
how long after the last webhook routing had queued and offered every conversation and
metrics had counted every message (both read from the database and ``GET /kpis``), and
the peak RSS of each service while it lasted.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import payloads
from bench.routing_bench import create_queue_and_agents, run_load
from bench.stack import METRICS_READER, Process, Stack, fetch, fresh_broker
from switchboard_dev.services import SERVICES

MESSENGER = "messenger"


def counted(metrics_url: str, providers: list[str]) -> int:
    """Customer messages of ``providers`` that ``GET /kpis`` counts in the last hour."""
    now = datetime.now(UTC)
    params = {
        "granularity": "hour",
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
    }
    report = httpx.get(
        f"{metrics_url}/kpis", params=params, headers=METRICS_READER, timeout=30
    ).json()
    return sum(v["inbound"] for v in report["volume_by_provider"] if v["provider"] in providers)


def routed(database_url: str, keys: list[str]) -> tuple[int, int]:
    """Of the conversations whose key starts with one of ``keys``: recorded, and offered."""
    (row,) = fetch(
        database_url,
        "SELECT count(*) AS recorded, count(*) FILTER (WHERE EXISTS ("
        "  SELECT 1 FROM routing.offer o WHERE o.conversation_id = c.id)) AS offered "
        "FROM routing.conversation c WHERE c.conversation_key LIKE ANY($1)",
        [key + "%" for key in keys],
    )
    return int(row["recorded"]), int(row["offered"])


def measure(
    stack: Stack, *, stamp: str, rate: float = 2000, duration_s: float = 10, drain_s: float = 60
) -> dict[str, Any]:
    """Drive chat and social at ``rate`` webhooks/s in all for ``duration_s``, then drain."""
    chat_run, social_run = f"{stamp}-sustained-chat", f"{stamp}-sustained-social"
    chat_provider = payloads.run_provider(chat_run)
    per_stream = int(rate / 2 * duration_s)
    with fresh_broker(stack), tempfile.TemporaryDirectory(prefix="switchboard-sustained-") as tmp:
        started = {name: stack.start(name, f"services.{name}.app:create_app") for name in SERVICES}
        for channel, provider in (("chat", chat_provider), ("social", MESSENGER)):
            create_queue_and_agents(
                started["routing"].base_url,
                queue=f"sustained-{channel}-{stamp}",
                providers=[provider],
                skill=f"sustained-{channel}-{stamp}",
                agents=50,
                capacity=1000,
                channel=channel,
            )
        time.sleep(6)  # every consumer joins its group (tansu holds a join about 5 s)
        counted_before = counted(started["metrics"].base_url, [MESSENGER])
        streams = [
            {
                "url": started["chat"].base_url,
                "payload_file": str(
                    payloads.write(
                        Path(tmp) / "chat.txt", payloads.chat_thread, per_stream, chat_run
                    )
                ),
                "rate": rate / 2,
            },
            {
                "url": started["social"].base_url,
                "payload_file": str(
                    payloads.write(
                        Path(tmp) / "social.txt", payloads.messenger_thread, per_stream, social_run
                    )
                ),
                "rate": rate / 2,
            },
        ]
        with contextlib.ExitStack() as sampling:
            for process in started.values():
                sampling.enter_context(process.sampling_rss())
            load = run_load(
                {"streams": streams, "connections_per_stream": 64}, module="bench.sustained_load"
            )
            accepted = sum(load["accepted"])
            drained = _drain(stack, started, chat_provider, accepted, counted_before, drain_s)
        memory = {name: round(p.peak_rss / 2**20, 1) for name, p in started.items()}
        for process in started.values():
            stack.stop(process)
    result = {
        "target_rate_per_s": rate,
        "duration_s": duration_s,
        "messages_per_conversation": payloads.THREAD,
        "accepted": accepted,
        "failed": sum(load["failed"]),
        "achieved_rate_per_s": round(accepted / load["sent_s"], 1),
        **drained,
        "peak_rss_mb": memory,
    }
    print(f"  sustained: {result}", flush=True)
    return result


def _drain(
    stack: Stack,
    started: dict[str, Process],
    chat_provider: str,
    accepted: int,
    counted_before: int,
    drain_s: float,
) -> dict[str, Any]:
    """Wait until routing offered and metrics counted everything; how long each took."""
    conversations = accepted // payloads.THREAD
    # Routing's keys: generic chat "<provider>:<conversation id>", Messenger "messenger:...".
    keys = [f"{chat_provider}:", f"{MESSENGER}:"]
    load_ended = time.monotonic()
    routed_after = counted_after = None
    recorded = offered = messages = 0
    while time.monotonic() - load_ended < drain_s:
        if routed_after is None:
            recorded, offered = routed(stack.database_url, keys)
            if offered >= conversations:
                routed_after = time.monotonic() - load_ended
        if counted_after is None:
            messages = counted(started["metrics"].base_url, [chat_provider, MESSENGER])
            if messages - counted_before >= accepted:
                counted_after = time.monotonic() - load_ended
        if routed_after is not None and counted_after is not None:
            break
        time.sleep(0.25)
    return {
        "conversations": conversations,
        "routing_recorded": recorded,
        "routing_offered": offered,
        "routing_done_after_load_s": None if routed_after is None else round(routed_after, 2),
        "metrics_counted": messages - counted_before,
        "metrics_done_after_load_s": None if counted_after is None else round(counted_after, 2),
    }
