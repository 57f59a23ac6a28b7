"""FRT percentiles from the counts per second and per millisecond are exactly the nearest
ranks of the plain sorted values, for every filter, bucket and range."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.contributions import Deltas, bucket_start
from services.metrics.models import frt_count, frt_count_all
from services.metrics.repository import writes
from services.metrics.repository.reads import (
    Filters,
    Percentiles,
    _bucket_conditions,
    _nearest_ranks,
    first_response_percentiles,
)
from shared.db import Database

#: A day no other test writes to; every example's rows are rolled back.
DAY = datetime(2001, 3, 4, tzinfo=UTC)
CHANNELS = ("chat", "phone")
QUEUES = ("q-a", "q-b")

#: Values bunched around whole seconds (ties, bin edges) and a few far ones.
FRT_MS = st.one_of(
    st.integers(0, 3000),
    st.sampled_from([0, 1, 999, 1000, 1001, 1999, 2000, 59_999, 60_000]),
    st.integers(0, 10**9),
)
RESPONSE = st.tuples(st.integers(0, 5), st.sampled_from(CHANNELS), st.sampled_from(QUEUES), FRT_MS)


def _nearest_rank(values: list[int], p: float) -> float:
    return float(values[math.ceil(p * len(values)) - 1])


def _by_sorting(
    responses: list[tuple[datetime, str, str, int]], f: Filters
) -> tuple[Percentiles | None, dict[datetime, Percentiles]]:
    per_bucket: dict[datetime, list[int]] = defaultdict(list)
    for at, channel, queue, frt in responses:
        start = bucket_start(at, f.granularity)
        if f.channel not in (None, channel) or f.queue not in (None, queue):
            continue
        if f.start <= start < f.end:
            per_bucket[start].append(frt)

    def percentiles(values: list[int]) -> Percentiles:
        values = sorted(values)
        return Percentiles(len(values), _nearest_rank(values, 0.5), _nearest_rank(values, 0.9))

    every = [v for values in per_bucket.values() for v in values]
    total = percentiles(every) if every else None
    return total, {start: percentiles(v) for start, v in sorted(per_bucket.items())}


async def _by_old_walk(
    session: AsyncSession, f: Filters
) -> tuple[Percentiles | None, dict[datetime, Percentiles]]:
    """The walk over every millisecond count, as reports read them before the seconds."""
    t = frt_count_all if f.channel is None and f.queue is None else frt_count
    source = select(t.c.bucket_start, t.c.frt_ms, t.c.n).where(*_bucket_conditions(f, t))
    total, buckets = None, {}
    for per_bucket in (True, False):
        for start, count, median, p90 in await session.execute(
            _nearest_ranks(source, per_bucket=per_bucket)
        ):
            if count is None:
                continue
            found = Percentiles(int(count), float(median), float(p90))
            if start is None:
                total = found
            else:
                buckets[start] = found
    return total, dict(sorted(buckets.items()))


def _filters() -> list[Filters]:
    day, hour = DAY, timedelta(hours=1)
    found = []
    for granularity, start, end in (
        ("hour", day, day + timedelta(days=1)),
        ("hour", day + hour, day + 4 * hour),
        ("day", day, day + timedelta(days=1)),
    ):
        for channel, queue in ((None, None), ("chat", None), (None, "q-a"), ("phone", "q-b")):
            found.append(Filters(granularity, start, end, channel=channel, queue=queue))
    return found


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    responses=st.lists(RESPONSE, max_size=80),
    retracted=st.lists(RESPONSE, max_size=10),
)
async def test_two_level_walk_gives_the_sorted_values_nearest_ranks(
    database: Database,
    responses: list[tuple[int, str, str, int]],
    retracted: list[tuple[int, str, str, int]],
) -> None:
    def at(hour: int) -> datetime:
        return DAY + timedelta(hours=hour, minutes=17)

    counted = [(at(hour), channel, queue, frt) for hour, channel, queue, frt in responses]
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        try:
            session = AsyncSession(bind=connection)
            deltas = Deltas()
            for when, channel, queue, frt in counted:
                deltas.add_frt(when, frt, channel=channel, queue=queue, sign=1)
            await writes.add_to_buckets(session, deltas)
            # Counted, then taken back (a fact changed): rows of zero stay behind.
            for sign in (1, -1):
                deltas = Deltas()
                for hour, channel, queue, frt in retracted:
                    deltas.add_frt(at(hour), frt, channel=channel, queue=queue, sign=sign)
                await writes.add_to_buckets(session, deltas)
            for f in _filters():
                got = await first_response_percentiles(session, f)
                assert got == _by_sorting(counted, f), f
                assert got == await _by_old_walk(session, f), f
        finally:
            await transaction.rollback()
