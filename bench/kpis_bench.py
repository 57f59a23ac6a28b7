"""``GET /kpis`` over a metrics database holding ten million events' worth of facts.

Two million conversations (five events each: inbound message, queued, offered, reply,
resolve) over the last 30 days are written with COPY into ``metrics.conversation_fact``; the
minute buckets of ``metrics.kpi_bucket`` are then summed from those facts in SQL, the hour
buckets from the minute ones and the day buckets from the hour ones, as the service's own
contributions would be. The database is kept between runs (building it took 240 s here, two
connections working side by side) and rebuilt when its marker does not match.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench.stack import METRICS_READER, Stack, fetch
from services.metrics.rollups import FRT_COUNT_SQL, rollup_sql
from switchboard_dev import migrations
from switchboard_dev.postgres import create_database, with_database

DATABASE = "switchboard_bench_kpis"
CONVERSATIONS = 2_000_000
EVENTS_PER_CONVERSATION = 5
DAYS = 30
QUEUES = [f"queue-{n}" for n in range(10)]
CHANNELS = ("chat", "social", "email", "phone")
PROVIDERS = {"chat": "generic", "social": "messenger", "email": "postmark", "phone": "twilio"}
AGENTS = [f"agent-{n}" for n in range(200)]
MARKER = f"{CONVERSATIONS} conversations, {DAYS} days, v3"
#: The bench database's own tables need not survive a crash: UNLOGGED, they load without
#: writing the WAL (about twice as fast here); reading them, what is measured, is the same.
TABLES = (
    "conversation_fact",
    "kpi_bucket",
    "volume_minute",
    "kpi_rollup",
    "frt_count",
    "frt_count_all",
    "frt_second_count",
    "frt_second_count_all",
)

FACT_COLUMNS = (
    "conversation_key",
    "channel",
    "provider",
    "queue",
    "agent_id",
    "opened_at",
    "first_inbound_at",
    "first_reply_at",
    "first_reply_agent",
    "queued_at",
    "last_queued_at",
    "answered_at",
    "last_answered_at",
    "queue_wait_ms",
    "abandoned_at",
    "abandon_wait_ms",
    "first_resolved_at",
    "last_resolved_at",
)

# Each measure summed per minute from the facts, with its time, dimensions and milliseconds.
MINUTE_SUMS = {
    "conversations": ("opened_at", "''", "0"),
    "queued": ("queued_at", "''", "0"),
    "answered": ("answered_at", "''", "queue_wait_ms"),
    "abandoned": ("abandoned_at", "''", "abandon_wait_ms"),
    "handled": ("last_resolved_at", "agent_id", "0"),
    "handle": (
        "last_resolved_at",
        "agent_id",
        "(extract(epoch FROM last_resolved_at - answered_at) * 1000)::bigint",
    ),
    "resolved": ("first_resolved_at", "agent_id", "0"),
    "inbound": ("first_inbound_at", "''", "0"),
    "outbound": ("first_reply_at", "agent_id", "0"),
    "frt": (
        "first_reply_at",
        "first_reply_agent",
        "(extract(epoch FROM first_reply_at - first_inbound_at) * 1000)::bigint",
    ),
}


def _fact(n: int, start: datetime, rng: random.Random) -> tuple[Any, ...]:
    # Each queue serves one channel and has twenty agents of its own.
    q = n % len(QUEUES)
    queue = QUEUES[q]
    channel = CHANNELS[q % len(CHANNELS)]
    per_queue = len(AGENTS) // len(QUEUES)
    agent = AGENTS[q * per_queue + rng.randrange(per_queue)]
    opened = start + timedelta(seconds=n * DAYS * 86400 / CONVERSATIONS + rng.random())
    queued = opened + timedelta(seconds=1)
    if n % 20 == 0:  # one in twenty abandons while queued
        abandoned = queued + timedelta(seconds=rng.randrange(5, 300))
        wait = int((abandoned - queued).total_seconds() * 1000)
        return (
            f"bench:{n}", channel, PROVIDERS[channel], queue, None, opened, opened, None, None,
            queued, queued, None, None, None, abandoned, wait, None, None,
        )  # fmt: skip
    answered = queued + timedelta(seconds=rng.randrange(1, 180))
    replied = answered + timedelta(seconds=rng.randrange(5, 120))
    resolved = replied + timedelta(seconds=rng.randrange(30, 1800))
    wait = int((answered - queued).total_seconds() * 1000)
    return (
        f"bench:{n}", channel, PROVIDERS[channel], queue, agent, opened, opened, replied, agent,
        queued, queued, answered, answered, wait, None, None, resolved, resolved,
    )  # fmt: skip


def _minute_sums(measures: Sequence[str]) -> list[str]:
    """The minute buckets of ``measures``, summed from the facts."""
    return [
        f"""
        INSERT INTO metrics.kpi_bucket
        SELECT 'minute', date_trunc('minute', {at}, 'UTC'), '{measure}', channel,
               coalesce(queue, ''), coalesce({agent}, ''), provider,
               count(*), coalesce(sum({total_ms}), 0)
        FROM metrics.conversation_fact WHERE {at} IS NOT NULL
        GROUP BY 2, 4, 5, 6, 7
        """  # noqa: S608 (constants of this module only)
        for measure in measures
        for at, agent, total_ms in [MINUTE_SUMS[measure]]
    ]


def _coarser_sums(measures: Sequence[str]) -> list[str]:
    """Hour buckets summed from the minute ones, day buckets from the hour ones."""
    return [
        f"""
        INSERT INTO metrics.kpi_bucket
        SELECT '{coarse}', date_trunc('{coarse}', bucket_start, 'UTC'), measure,
               channel, queue, agent_id, provider, sum(n), sum(total_ms)
        FROM metrics.kpi_bucket
        WHERE granularity = '{fine}' AND measure IN ({", ".join(f"'{m}'" for m in measures)})
        GROUP BY 2, 3, 4, 5, 6, 7
        """  # noqa: S608
        for fine, coarse in (("minute", "hour"), ("hour", "day"))
    ]


async def _side_by_side(url: str, *lanes: Sequence[str]) -> None:
    """Run each lane's statements in order, the lanes at once on connections of their own:
    the server has a core for each."""

    async def run(statements: Sequence[str]) -> None:
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("SET work_mem = '256MB'; SET maintenance_work_mem = '512MB'")
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    await asyncio.gather(*(run(lane) for lane in lanes))


async def _build(url: str) -> float:
    started = time.monotonic()
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("TRUNCATE " + ", ".join(f"metrics.{t}" for t in TABLES))
        for table in TABLES:
            await connection.execute(f"ALTER TABLE metrics.{table} SET UNLOGGED")
        # Bulk load first, index after: sorting once beats ten million index insertions.
        await connection.execute(
            "ALTER TABLE metrics.kpi_bucket DROP CONSTRAINT IF EXISTS pk_kpi_bucket"
        )
        fact_indexes = await connection.fetch(
            "SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS definition "
            "FROM pg_index WHERE indrelid = 'metrics.conversation_fact'::regclass "
            "AND NOT indisprimary"
        )
        for index in fact_indexes:
            await connection.execute(f"DROP INDEX {index['name']}")
        rng = random.Random(20261122)  # noqa: S311 (data, not secrets)
        start = datetime.now(UTC) - timedelta(days=DAYS)
        chunk = 200_000
        for first in range(0, CONVERSATIONS, chunk):
            rows = [_fact(n, start, rng) for n in range(first, min(first + chunk, CONVERSATIONS))]
            await connection.copy_records_to_table(
                "conversation_fact", schema_name="metrics", columns=FACT_COLUMNS, records=rows
            )
    finally:
        await connection.close()
    definitions = [index["definition"] for index in fact_indexes]
    await _side_by_side(url, definitions[0::2], definitions[1::2])
    # Then the buckets and the report rollups, as the service's contributions would have
    # written them, in two lanes of half the measures each.
    measures = list(MINUTE_SUMS)
    halves = (measures[0::2], measures[1::2])
    await _side_by_side(url, *(_minute_sums(half) + _coarser_sums(half) for half in halves))
    await _side_by_side(url, *([rollup_sql(half)] for half in halves))
    await _side_by_side(
        url,
        [
            "ALTER TABLE metrics.kpi_bucket ADD CONSTRAINT pk_kpi_bucket PRIMARY KEY "
            "(granularity, bucket_start, measure, channel, queue, agent_id, provider)"
        ],
        list(FRT_COUNT_SQL),
    )
    # VACUUM too, not only ANALYZE: index-only reads need the visibility map.
    await _side_by_side(
        url, *([f"VACUUM (ANALYZE) metrics.{table}" for table in TABLES[i::2]] for i in (0, 1))
    )
    await _side_by_side(url, [f"COMMENT ON DATABASE {DATABASE} IS '{MARKER}'"])
    return time.monotonic() - started


def _marker(url: str) -> str | None:
    (row,) = fetch(
        url,
        "SELECT shobj_description(oid, 'pg_database') AS marker FROM pg_database "
        "WHERE datname = $1",
        DATABASE,
    )
    marker: str | None = row["marker"]
    return marker


def _sizes(url: str) -> dict[str, int]:
    (row,) = fetch(
        url,
        "SELECT (SELECT count(*) FROM metrics.conversation_fact) AS facts, "
        "(SELECT count(*) FROM metrics.kpi_bucket) AS buckets",
    )
    return {"conversation_facts": int(row["facts"]), "kpi_bucket_rows": int(row["buckets"])}


def prepare(admin_url: str) -> tuple[str, float | None]:
    """The database's URL, and how long building it took (None when it was reused)."""
    url = asyncio.run(create_database(admin_url, DATABASE))
    migrations.upgrade(url, services=("metrics",))
    if _marker(url) == MARKER:
        return url, None
    print("  building ten million events' worth of facts (once; kept for later runs)...")
    return url, round(asyncio.run(_build(url)), 1)


def queries(now: datetime, rng: random.Random, count: int) -> list[dict[str, str]]:
    """A dashboard's mix: a day by hour, a month by day, an hour by minute; some filtered."""
    mix: list[dict[str, str]] = []
    for n in range(count):
        params: dict[str, datetime | str]
        kind = n % 4
        if kind == 0:
            end = now - timedelta(days=rng.randrange(0, 29))
            params = {"granularity": "hour", "start": end - timedelta(days=1), "end": end}
        elif kind == 1:
            params = {"granularity": "day", "start": now - timedelta(days=30), "end": now}
        elif kind == 2:
            end = now - timedelta(hours=rng.randrange(1, 700))
            params = {"granularity": "minute", "start": end - timedelta(hours=1), "end": end}
        else:
            end = now - timedelta(days=rng.randrange(0, 23))
            params = {
                "granularity": "hour",
                "start": end - timedelta(days=7),
                "end": end,
                "queue": rng.choice(QUEUES),
            }
        mix.append({k: v if isinstance(v, str) else v.isoformat() for k, v in params.items()})
    return mix


def measure(stack: Stack, *, requests: int = 40, budget_s: float = 120) -> dict[str, Any]:
    url, built_s = prepare(stack.admin_url)
    metrics = stack.start("metrics", "services.metrics.app:create_app", env={"DATABASE_URL": url})
    try:
        latencies: list[float] = []
        by_kind: dict[str, list[float]] = {}
        failures = 0
        rng = random.Random(9)  # noqa: S311
        with httpx.Client(base_url=metrics.base_url, headers=METRICS_READER, timeout=30) as client:
            for params in queries(datetime.now(UTC), rng, 4):  # warm-up
                client.get("/kpis", params=params)
            stop_at = time.monotonic() + budget_s
            with metrics.sampling_rss():
                for params in queries(datetime.now(UTC), rng, requests):
                    if time.monotonic() > stop_at:
                        break
                    began = time.perf_counter()
                    response = client.get("/kpis", params=params)
                    latencies.append((time.perf_counter() - began) * 1000)
                    by_kind.setdefault(
                        params["granularity"] + ("/queue" if "queue" in params else ""), []
                    ).append(latencies[-1])
                    failures += not response.is_success
    finally:
        stack.stop(metrics)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    result = {
        "events_worth": CONVERSATIONS * EVENTS_PER_CONVERSATION,
        **_sizes(url),
        "built_in_s": built_s,
        "requests": len(latencies),
        "failed": failures,
        "latency_ms": {
            "p50": round(cuts[49], 1),
            "p95": round(cuts[94], 1),
            "max": round(max(latencies), 1),
        },
        "median_ms_by_query": {k: round(statistics.median(v), 1) for k, v in by_kind.items()},
        "peak_rss_mb": round(metrics.peak_rss / 2**20, 1),
    }
    print(f"  GET /kpis: {result}", flush=True)
    return result


__all__ = ["measure", "with_database"]
