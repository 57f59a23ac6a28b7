"""Routing figures: end-to-end latency from webhook to agent stream, and assignments per second."""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from bench import payloads
from bench.stack import ROOT, Stack, fetch, fresh_broker
from services.chat.schemas import GenericChatMessage
from services.chat.service import normalize_generic
from services.routing.settings import RoutingSettings
from shared.kafka import interaction_record
from switchboard_dev.postgres import with_database

ROUTING_APP = "services.routing.app:create_app"
CHAT_APP = "services.chat.app:create_app"
FRACTIONS = (0.25, 0.5, 0.9)
#: Conversations sent one at a time after the burst, to time a single routing decision.
DECISIONS = 30
TRICKLE_PER_S = 20.0


def _admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {RoutingSettings().admin_token.get_secret_value()}"}


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {
        "p50": round(cuts[49], 2),
        "p95": round(cuts[94], 2),
        "p99": round(cuts[98], 2),
        "max": round(max(values), 2),
    }


def create_queue_and_agents(
    routing_url: str,
    *,
    queue: str,
    providers: list[str],
    skill: str,
    agents: int,
    capacity: int,
    channel: str = "chat",
) -> list[str]:
    """A queue of ``channel`` and ``agents`` available agents with its skill; their tokens."""
    with httpx.Client(base_url=routing_url, headers=_admin(), timeout=30) as client:
        client.post(
            "/admin/queues",
            json={
                "name": queue,
                "channel": channel,
                "providers": providers,
                "required_skills": [skill],
                "offer_timeout_seconds": 3600,
            },
        ).raise_for_status()
        tokens = []
        for n in range(agents):
            created = client.post(
                "/admin/agents",
                json={
                    "name": f"{queue} agent {n}",
                    "skills": [skill],
                    "capacity": {channel: capacity},
                    "status": "available",
                },
            )
            created.raise_for_status()
            tokens.append(created.json()["token"])
    return tokens


def conversation_keys(database_url: str, ids: list[str]) -> dict[str, str]:
    """Routing's conversation id -> the conversation key it came from."""
    rows = fetch(
        with_database(database_url, _name(database_url)),
        "SELECT id::text, conversation_key FROM routing.conversation WHERE id::text = ANY($1)",
        ids,
    )
    return {row["id"]: row["conversation_key"] for row in rows}


def _name(url: str) -> str:
    return url.partition("?")[0].rpartition("/")[2]


def run_load(spec: dict[str, Any], module: str = "bench.e2e_load") -> dict[str, Any]:
    """Run a load process (``python -m module SPEC OUT``) to its end; what it wrote."""
    with tempfile.TemporaryDirectory(prefix="switchboard-load-") as tmp:
        spec_file, out_file = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_file.write_text(json.dumps(spec))
        subprocess.run(
            [sys.executable, "-m", module, str(spec_file), str(out_file)],
            cwd=ROOT,
            check=True,
        )
        result: dict[str, Any] = json.loads(out_file.read_text())
    return result


def end_to_end(stack: Stack, *, max_rate: float, stamp: str, duration_s: float) -> dict[str, Any]:
    """Webhook 2xx -> ``offer.created`` on the agent stream, at shares of the maximum rate."""
    levels = []
    with fresh_broker(stack), tempfile.TemporaryDirectory(prefix="switchboard-e2e-") as tmp:
        routing = stack.start("routing", ROUTING_APP)
        chat = stack.start("chat/generic", CHAT_APP)
        tokens = create_queue_and_agents(
            routing.base_url,
            queue=f"e2e-{stamp}",
            providers=["generic"],
            skill=f"e2e-{stamp}",
            agents=50,
            capacity=1000,
        )
        spec: dict[str, Any] = {
            "routing_url": routing.base_url,
            "chat_url": chat.base_url,
            "agent_tokens": tokens,
            "connections": 64,
            "drain_s": 10,
        }
        # Warm-up: the routing consumer joins its group (tansu holds a join about 5 s).
        warm = payloads.write(Path(tmp) / "warm.txt", payloads.chat_generic, 20, f"{stamp}-warm")
        run_load({**spec, "payload_file": str(warm), "rate": 10})
        # A trickle first (the latency floor), then shares of the maximum; each level waits
        # up to drain_s for its offers, so a backlog spills into the next level's figures.
        plan = [
            ("trickle", TRICKLE_PER_S),
            *((f"{int(f * 100)}%", max_rate * f) for f in FRACTIONS),
        ]
        for label, rate in plan:
            count = max(int(rate * duration_s), 20)
            run = f"{stamp}-e2e{label.rstrip('%')}"
            file = payloads.write(Path(tmp) / f"{run}.txt", payloads.chat_generic, count, run)
            with routing.sampling_rss(), chat.sampling_rss():
                raw = run_load({**spec, "payload_file": str(file), "rate": rate})
            keys = conversation_keys(stack.database_url, list(raw["offers"]))
            offered = {keys[cid].removeprefix("generic:"): t for cid, t in raw["offers"].items()}
            latencies = [
                (offered[key] - at) * 1000 for key, at in raw["accepted"].items() if key in offered
            ]
            level = {
                "label": label,
                "rate_per_s": round(rate, 1),
                "sent": count,
                "accepted": len(raw["accepted"]),
                "failed": raw["failed"],
                "offered": len(latencies),
                "achieved_rate_per_s": round(len(raw["accepted"]) / raw["sent_s"], 1),
                "latency_ms": percentiles(latencies),
            }
            print(
                f"  {label:>7} ({rate:.0f}/s): accepted {level['accepted']} "
                f"offered {level['offered']} latency {level['latency_ms']}",
                flush=True,
            )
            levels.append(level)
        memory = {"routing": routing.peak_rss, "chat": chat.peak_rss}
        stack.stop(chat)
        stack.stop(routing)
    return {
        "max_rate_per_s": round(max_rate, 1),
        "levels": levels,
        "peak_rss_mb": {name: round(rss / 2**20, 1) for name, rss in memory.items()},
    }


async def _publish_conversations(
    bootstrap: str, providers: list[str], count: int, *, first: int = 0, gap_s: float = 0.0
) -> None:
    """``count`` new conversations, one message each; ``gap_s`` apart, or all at once."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        received_at = datetime.now(UTC)
        pending = []
        for n in range(first, first + count):
            if gap_s:
                await asyncio.sleep(gap_s)
                received_at = datetime.now(UTC)
            message = GenericChatMessage.model_validate(
                {
                    "message_id": f"m{n}",
                    "conversation_id": f"c{n}",
                    "sender": {"id": f"{providers[n % len(providers)]}-v{n}"},
                    "text": "Where is my parcel?",
                    "source": providers[n % len(providers)],
                }
            )
            event = normalize_generic(message, received_at=received_at)
            record = interaction_record(event)
            pending.append(
                await producer.send(
                    record.topic, record.value, key=record.key, headers=list(record.headers)
                )
            )
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def _decision_ms(database_url: str, prefix: str, first: int) -> list[float]:
    """Per conversation numbered ``first`` on: its message's time -> its first offer, in ms."""
    rows = fetch(
        database_url,
        "SELECT extract(epoch FROM min(o.offered_at) - c.opened_at) * 1000 AS ms "
        "FROM routing.offer o JOIN routing.conversation c ON c.id = o.conversation_id "
        "WHERE c.provider LIKE $1 AND split_part(c.conversation_key, ':c', 2)::int >= $2 "
        "GROUP BY c.id, c.opened_at",
        prefix + "%",
        first,
    )
    return [float(row["ms"]) for row in rows]


def _offer_times(database_url: str, prefix: str) -> list[datetime]:
    rows = fetch(
        database_url,
        "SELECT min(o.offered_at) AS at FROM routing.offer o "
        "JOIN routing.conversation c ON c.id = o.conversation_id "
        "WHERE c.provider LIKE $1 GROUP BY o.conversation_id ORDER BY 1",
        prefix + "%",
    )
    return [row["at"] for row in rows]


def assignments(
    stack: Stack, *, instances: int, stamp: str, conversations: int = 1000
) -> dict[str, Any]:
    """Offers per second with 1,000 agents over 10 queues, conversations already on the topic."""
    tag = f"r{instances}x{stamp[-6:]}"
    providers = [f"{tag}q{i}" for i in range(10)]
    with fresh_broker(stack):
        routers = [stack.start(f"routing-{i}", ROUTING_APP) for i in range(instances)]
        for provider in providers:
            create_queue_and_agents(
                routers[0].base_url,
                queue=provider,
                providers=[provider],
                skill=provider,
                agents=100,
                capacity=10,
            )
        # Let every instance's consumer join the group before the burst.
        time.sleep(6 + 6 * (instances - 1))
        started = time.monotonic()
        asyncio.run(_publish_conversations(stack.broker.bootstrap, providers, conversations))
        deadline = time.monotonic() + 120
        times: list[datetime] = []
        with routers[0].sampling_rss():
            while time.monotonic() < deadline:
                times = _offer_times(stack.database_url, tag)
                if len(times) >= conversations:
                    break
                time.sleep(0.5)
        elapsed = time.monotonic() - started
        # Then one conversation at a time, the backlog gone: how long one decision takes.
        asyncio.run(
            _publish_conversations(
                stack.broker.bootstrap, providers, DECISIONS, first=conversations, gap_s=0.1
            )
        )
        decisions: list[float] = []
        for _ in range(40):
            decisions = _decision_ms(stack.database_url, tag, conversations)
            if len(decisions) >= DECISIONS:
                break
            time.sleep(0.25)
        peak = max(r.peak_rss for r in routers)
        for router in routers:
            stack.stop(router)
    span = (times[-1] - times[0]).total_seconds() if len(times) > 1 else 0.0
    result = {
        "instances": instances,
        "agents": 1000,
        "queues": 10,
        "conversations": conversations,
        "offered": len(times),
        "offers_per_s": round((len(times) - 1) / span, 1) if span else None,
        "publish_to_all_offered_s": round(elapsed, 2),
        "one_at_a_time_ms": {"count": len(decisions), **percentiles(decisions)},
        "peak_rss_mb": round(peak / 2**20, 1),
    }
    print(f"  routing x{instances}: {result}", flush=True)
    return result
