"""The rollups a report reads agree with the buckets and facts they are summed from."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import NoReturn

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.contributions import FRT_GRANULARITIES, bucket_start, first_response_ms
from services.metrics.models import (
    FRT_BIN_MS,
    frt_count,
    frt_count_all,
    frt_second_count,
    frt_second_count_all,
    kpi_bucket,
    kpi_rollup,
)
from services.metrics.repository.writes import all_facts
from services.metrics.rollups import FILL_SQL
from shared.db import Database
from tests.metrics.by_hand import expected
from tests.metrics.scenario import Day
from tests.metrics.test_golden_day import comparable, kpis


async def test_kpi_rollup_is_the_buckets_summed_over_agents(
    golden_day: Day, database: Database
) -> None:
    kb, kr = kpi_bucket, kpi_rollup
    day = golden_day
    dims = (kb.c.granularity, kb.c.bucket_start, kb.c.measure, kb.c.channel, kb.c.queue)
    async with database.transaction() as session:
        summed = await session.execute(
            select(*dims, kb.c.provider, func.sum(kb.c.n), func.sum(kb.c.total_ms))
            .where(kb.c.bucket_start >= day.start, kb.c.bucket_start < day.end)
            .group_by(*dims, kb.c.provider)
        )
        rolled = await session.execute(
            select(kr).where(kr.c.bucket_start >= day.start, kr.c.bucket_start < day.end)
        )
        want = {tuple(row[:-2]): (int(row[-2]), int(row[-1])) for row in summed}
        got = {tuple(row[:-2]): (row.n, row.total_ms) for row in rolled}
    nonzero = {key: sums for key, sums in want.items() if sums != (0, 0)}
    assert len(nonzero) > 1000
    assert {key: sums for key, sums in got.items() if sums != (0, 0)} == nonzero


async def test_first_response_counts_are_those_of_the_facts(
    golden_day: Day, database: Database
) -> None:
    day = golden_day
    want: Counter[tuple[object, ...]] = Counter()
    async with database.transaction() as session:
        async for fact in all_facts(session):
            frt = first_response_ms(fact)
            if frt is None or fact.first_reply_at is None:
                continue
            for granularity in FRT_GRANULARITIES:
                start = bucket_start(fact.first_reply_at, granularity)
                if day.start <= start < day.end:
                    dims = (fact.channel or "", fact.queue or "")
                    want[(granularity, start, *dims, frt)] += 1
        t, a = frt_count, frt_count_all
        rows = await session.execute(
            select(t).where(t.c.bucket_start >= day.start, t.c.bucket_start < day.end, t.c.n != 0)
        )
        got = {tuple(row[:-1]): row.n for row in rows}
        rows = await session.execute(
            select(a).where(a.c.bucket_start >= day.start, a.c.bucket_start < day.end, a.c.n != 0)
        )
        got_all = {tuple(row[:-1]): row.n for row in rows}
        seconds = {}
        for table in (frt_second_count, frt_second_count_all):
            in_day = (table.c.bucket_start >= day.start, table.c.bucket_start < day.end)
            rows = await session.execute(select(table).where(*in_day, table.c.n != 0))
            seconds[table.name] = {tuple(row[:-1]): row.n for row in rows}
    assert len(want) > 100
    assert got == dict(want)
    over_dims: Counter[tuple[object, ...]] = Counter()
    per_second: Counter[tuple[object, ...]] = Counter()
    per_second_all: Counter[tuple[object, ...]] = Counter()
    for key, n in want.items():
        over_dims[(key[0], key[1], key[4])] += n
        frt_ms = key[4]
        assert isinstance(frt_ms, int)
        per_second[(*key[:4], frt_ms // FRT_BIN_MS)] += n
        per_second_all[(*key[:2], frt_ms // FRT_BIN_MS)] += n
    assert got_all == dict(over_dims)
    # The coarse level is the fine one summed per whole second.
    assert seconds["frt_second_count"] == dict(per_second)
    assert seconds["frt_second_count_all"] == dict(per_second_all)


async def test_hour_buckets_of_a_queue_match_the_script(metrics_url: str, golden_day: Day) -> None:
    day = golden_day
    queue = day.queues[0]
    report = await kpis(metrics_url, day, granularity="hour", queue=queue)
    assert comparable(report["totals"]) == expected(day, day.start, day.end, queue=queue)
    assert report["buckets"]
    for bucket in report["buckets"]:
        start = datetime.fromisoformat(bucket["start"])
        want = expected(day, start, start + timedelta(hours=1), queue=queue)
        assert comparable(bucket["kpis"]) == want, bucket["start"]


class _RolledBack(Exception):
    """Raised to roll the refill back once compared."""


async def test_the_bulk_fill_gives_what_the_consumer_wrote(database: Database) -> None:
    """``rollups.FILL_SQL`` (for bulk loads) rounds and sums exactly as the consumer does."""
    tables = (kpi_rollup, frt_count, frt_count_all, frt_second_count, frt_second_count_all)

    async def contents(session: AsyncSession) -> list[set[tuple[object, ...]]]:
        snapshot = []
        for table in tables:
            rows = await session.execute(select(table).where(table.c.n != 0))
            snapshot.append({tuple(row) for row in rows})
        return snapshot

    async def refill() -> NoReturn:
        async with database.transaction() as session:
            await session.execute(text("LOCK TABLE metrics.kpi_bucket IN EXCLUSIVE MODE"))
            written = await contents(session)
            for statement in FILL_SQL:
                await session.execute(text(statement))
            raise _RolledBack(written, await contents(session))

    with pytest.raises(_RolledBack) as rolled_back:
        await refill()
    written, filled = rolled_back.value.args
    assert all(written), [len(rows) for rows in written]
    assert filled == written
