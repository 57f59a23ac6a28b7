"""The read side of the metrics service: the queries behind KPI reports, leaderboards,
the live gauges and the conversation export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Select,
    String,
    Table,
    and_,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    union_all,
    values,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.contributions import FRT_GRANULARITIES, STEP, bucket_start
from services.metrics.facts import ConversationFact
from services.metrics.models import (
    FRT_BIN_MS,
    IS_OPEN,
    agent_status_change,
    conversation_fact,
    frt_count,
    frt_count_all,
    frt_second_count,
    frt_second_count_all,
    kpi_bucket,
    kpi_rollup,
)
from services.metrics.repository.labels import labeled, labels_of_fact

cf = conversation_fact
kb = kpi_bucket
asc = agent_status_change


@dataclass(frozen=True)
class Filters:
    """A KPI query's range and dimensions; None means every value."""

    granularity: str
    start: datetime
    end: datetime
    channel: str | None = None
    queue: str | None = None
    agent: str | None = None
    #: Conversations carrying any of these labels; empty: every conversation.
    labels: tuple[str, ...] = ()


def _bucket_conditions(f: Filters, table: FromClause = kb) -> list[ColumnElement[bool]]:
    conditions = [
        table.c.granularity == f.granularity,
        table.c.bucket_start >= f.start,
        table.c.bucket_start < f.end,
    ]
    if f.channel is not None:
        conditions.append(table.c.channel == f.channel)
    if f.queue is not None:
        conditions.append(table.c.queue == f.queue)
    if f.agent is not None:
        conditions.append(table.c.agent_id == f.agent)
    return conditions


def _buckets_for(f: Filters) -> FromClause:
    """The agent-level buckets for an agent's report, their rollup over agents otherwise."""
    return kb if f.agent is not None else kpi_rollup


async def bucket_sums(session: AsyncSession, f: Filters) -> list[tuple[datetime, str, int, int]]:
    """``(bucket_start, measure, n, total_ms)`` summed over the filtered dimensions."""
    t = _buckets_for(f)
    rows = await session.execute(
        select(t.c.bucket_start, t.c.measure, func.sum(t.c.n), func.sum(t.c.total_ms))
        .where(*_bucket_conditions(f, t))
        .group_by(t.c.bucket_start, t.c.measure)
        .order_by(t.c.bucket_start)
    )
    return [(start, measure, int(n), int(total)) for start, measure, n, total in rows]


async def sums_by(
    session: AsyncSession, f: Filters, dimension: str
) -> list[tuple[str, str, int, int]]:
    """``(dimension value, measure, n, total_ms)`` over the whole range."""
    column = kb.c[dimension]
    rows = await session.execute(
        select(column, kb.c.measure, func.sum(kb.c.n), func.sum(kb.c.total_ms))
        .where(*_bucket_conditions(f), column != "")
        .group_by(column, kb.c.measure)
    )
    return [(value, measure, int(n), int(total)) for value, measure, n, total in rows]


#: The measures of ``volume`` and ``delivery``: the events counted per channel and provider.
VOLUME_MEASURES = (
    "inbound",
    "outbound",
    "automated",
    "reply_sent",
    "reply_delivered",
    "reply_read",
    "reply_failed",
    "reply_undelivered",
)


async def volume_breakdown(session: AsyncSession, f: Filters) -> list[tuple[str, str, str, int]]:
    """``(channel, provider, measure, events)`` of the interaction volume and reply outcomes."""
    t = _buckets_for(f)
    rows = await session.execute(
        select(t.c.channel, t.c.provider, t.c.measure, func.sum(t.c.n))
        .where(*_bucket_conditions(f, t), t.c.measure.in_(VOLUME_MEASURES))
        .group_by(t.c.channel, t.c.provider, t.c.measure)
        .order_by(t.c.channel, t.c.provider, t.c.measure)
    )
    return [(c, p, m, int(n)) for c, p, m, n in rows]


def _frt_ms() -> ColumnElement[Any]:
    """The first response in milliseconds, rounded as ``contributions.first_response_ms`` does.

    Python rounds the double ``seconds * 1000`` half to even; so does ``round`` on a
    double precision in Postgres (``rint``), while on a numeric it would round half up.
    """
    seconds = cast(func.extract("epoch", cf.c.first_reply_at - cf.c.first_inbound_at), Float)
    return func.round(seconds * literal(1000.0, Float))


@dataclass(frozen=True)
class Percentiles:
    """How many first responses, and their median and p90 in milliseconds."""

    responded: int
    median_ms: float
    p90_ms: float


def _bucket_ceiling(at: datetime, granularity: str) -> datetime:
    """The first bucket start at or after ``at``."""
    at = at.astimezone(UTC)
    start = bucket_start(at, granularity)
    return at if start == at else start + STEP[granularity]


def _frt_from_facts(f: Filters) -> Select[Any]:
    """``(bucket_start, frt_ms, n)`` read from the facts: a range of first replies."""
    conditions = [
        cf.c.first_inbound_at.is_not(None),
        cf.c.first_reply_at >= cf.c.first_inbound_at,
        # A bucket starts in [start, end) exactly when the reply lies in this range.
        cf.c.first_reply_at >= _bucket_ceiling(f.start, f.granularity),
        cf.c.first_reply_at < _bucket_ceiling(f.end, f.granularity),
    ]
    if f.channel is not None:
        conditions.append(func.coalesce(cf.c.channel, "") == f.channel)
    if f.queue is not None:
        conditions.append(func.coalesce(cf.c.queue, "") == f.queue)
    if f.agent is not None:
        conditions.append(cf.c.first_reply_agent == f.agent)
    return select(
        func.date_trunc(f.granularity, cf.c.first_reply_at, "UTC").label("bucket_start"),
        _frt_ms().label("frt_ms"),
        literal(1).label("n"),
    ).where(*conditions)


def _nearest_ranks(source: Select[Any], *, per_bucket: bool) -> Select[Any]:
    """``(bucket_start, count, median, p90)`` of the counts in ``source``, per bucket or overall.

    Each distinct value's running count in value order; the p-th percentile is the
    first value whose running count reaches ``ceil(p * count)``, the rank
    ``percentile_disc`` takes. Counts are summed as doubles: exact below 2**53, and
    much cheaper for window sums than numerics.
    """
    d = source.subquery("d")
    n = func.sum(cast(d.c.n, Float))
    partition = d.c.bucket_start if per_bucket else None
    walked = (
        select(
            *((d.c.bucket_start,) if per_bucket else ()),
            d.c.frt_ms,
            func.sum(n)
            .over(partition_by=partition, order_by=d.c.frt_ms, rows=(None, 0))
            .label("cum"),
            func.sum(n).over(partition_by=partition).label("total"),
        )
        .group_by(*((d.c.bucket_start, d.c.frt_ms) if per_bucket else (d.c.frt_ms,)))
        .subquery("walked")
    )

    def rank(p: float) -> ColumnElement[Any]:
        wanted = func.ceil(literal(p, Float) * walked.c.total)
        return func.min(walked.c.frt_ms).filter(walked.c.cum >= wanted)

    start = walked.c.bucket_start if per_bucket else literal_column("NULL::timestamptz")
    ranks = select(start, func.max(walked.c.total), rank(0.5), rank(0.9)).where(walked.c.total > 0)
    return ranks.group_by(start) if per_bucket else ranks


#: The percentiles reported: name and p of each nearest rank.
RANKS = (("median", 0.5), ("p90", 0.9))


def _count_tables(f: Filters) -> tuple[Table, Table]:
    """The per-second and per-millisecond counts a report reads: over all channels and
    queues unless it filters them."""
    if f.channel is None and f.queue is None:
        return frt_second_count_all, frt_count_all
    return frt_second_count, frt_count


def _two_level_ranks(f: Filters) -> Select[Any]:
    """``(bucket_start, name, count, value)`` of each percentile in ``RANKS``, per bucket and
    over the range (bucket_start NULL), from the counts kept per bucket.

    The same nearest rank as ``_nearest_ranks``, found in two steps: running counts per
    whole second find the second holding the rank ``ceil(p * count)`` and how many
    values lie below that second; only that second's counts per millisecond are then
    walked, to the rank that is left. The range's percentile reads the second in each
    bucket that has values in it. Counts are summed as doubles (exact below 2**53).
    """
    coarse_t, fine_t = _count_tables(f)
    coarse = (
        select(
            coarse_t.c.bucket_start,
            coarse_t.c.frt_second,
            func.sum(cast(coarse_t.c.n, Float)).label("n"),
        )
        .where(*_bucket_conditions(f, coarse_t))
        .group_by(coarse_t.c.bucket_start, coarse_t.c.frt_second)
        .cte("coarse")
    )
    per_bucket = select(
        coarse.c.bucket_start.label("bucket"),
        coarse.c.frt_second,
        coarse.c.n,
        func.sum(coarse.c.n)
        .over(partition_by=coarse.c.bucket_start, order_by=coarse.c.frt_second, rows=(None, 0))
        .label("cum"),
        func.sum(coarse.c.n).over(partition_by=coarse.c.bucket_start).label("total"),
    )
    n_all = func.sum(coarse.c.n)
    over_range = select(
        literal_column("NULL::timestamptz").label("bucket"),
        coarse.c.frt_second,
        n_all.label("n"),
        func.sum(n_all).over(order_by=coarse.c.frt_second, rows=(None, 0)).label("cum"),
        func.sum(n_all).over().label("total"),
    ).group_by(coarse.c.frt_second)
    walked = union_all(per_bucket, over_range).subquery("walked")
    ranks = values(column("name", String), column("p", Float), name="ranks").data(list(RANKS))
    wanted = func.ceil(cast(ranks.c.p, Float) * walked.c.total)
    # The one second whose running count reaches the rank while the seconds below do not.
    targets = (
        select(
            walked.c.bucket,
            ranks.c.name,
            walked.c.total,
            walked.c.frt_second,
            (wanted - (walked.c.cum - walked.c.n)).label("rank"),
        )
        .select_from(walked.join(ranks, true()))
        .where(walked.c.total > 0, walked.c.cum >= wanted, walked.c.cum - walked.c.n < wanted)
        .subquery("targets")
    )
    # Each bucket to read in that second, with the second's bounds in milliseconds: the
    # millisecond counts are then one index range per probe.
    probes = (
        select(
            targets,
            coarse.c.bucket_start.label("probe_bucket"),
            (coarse.c.frt_second * FRT_BIN_MS).label("lowest"),
            ((coarse.c.frt_second + 1) * FRT_BIN_MS).label("beyond"),
        )
        .select_from(
            targets.join(
                coarse,
                and_(
                    coarse.c.frt_second == targets.c.frt_second,
                    coarse.c.n != 0,
                    or_(targets.c.bucket.is_(None), coarse.c.bucket_start == targets.c.bucket),
                ),
            )
        )
        .subquery("probes")
    )
    fine = (
        select(fine_t.c.frt_ms, fine_t.c.n)
        .where(
            *_bucket_conditions(f, fine_t),
            fine_t.c.bucket_start == probes.c.probe_bucket,
            fine_t.c.frt_ms >= probes.c.lowest,
            fine_t.c.frt_ms < probes.c.beyond,
        )
        .lateral("fine")
    )
    target = (probes.c.bucket, probes.c.name, probes.c.total, probes.c.rank)
    in_second = (
        select(
            *target,
            fine.c.frt_ms,
            func.sum(func.sum(cast(fine.c.n, Float)))
            .over(partition_by=target[:2], order_by=fine.c.frt_ms, rows=(None, 0))
            .label("cum"),
        )
        .select_from(probes.join(fine, true()))
        .group_by(*target, fine.c.frt_ms)
        .subquery("in_second")
    )
    return select(
        in_second.c.bucket,
        in_second.c.name,
        func.max(in_second.c.total),
        func.min(in_second.c.frt_ms).filter(in_second.c.cum >= in_second.c.rank),
    ).group_by(in_second.c.bucket, in_second.c.name)


async def _facts_percentiles(session: AsyncSession, f: Filters) -> list[tuple[Any, ...]]:
    """``(bucket_start, count, median, p90)`` per bucket and over the range (NULL start)."""
    source = _frt_from_facts(f)
    statement = union_all(
        _nearest_ranks(source, per_bucket=True), _nearest_ranks(source, per_bucket=False)
    )
    return [tuple(row) for row in await session.execute(statement)]


async def _counted_percentiles(session: AsyncSession, f: Filters) -> list[tuple[Any, ...]]:
    """The same rows as ``_facts_percentiles``, from the counts kept per bucket."""
    found: dict[datetime | None, dict[str, Any]] = {}
    for start, name, count, value in await session.execute(_two_level_ranks(f)):
        found.setdefault(start, {"count": count})[name] = value
    return [(start, row["count"], row["median"], row["p90"]) for start, row in found.items()]


async def first_response_percentiles(
    session: AsyncSession, f: Filters
) -> tuple[Percentiles | None, dict[datetime, Percentiles]]:
    """Median and p90 of the first response time over the range, and per bucket.

    Nearest rank (as ``percentile_disc``): the smallest value with at least p of the
    values at or below it. Hour and day reports without an agent read the counts kept per
    bucket (``_two_level_ranks``); the others walk the facts of their range. Same facts,
    bucketing and milliseconds as the ``frt`` measure.
    """
    if f.agent is not None or f.granularity not in FRT_GRANULARITIES:
        rows = await _facts_percentiles(session, f)
    else:
        rows = await _counted_percentiles(session, f)
    total = None
    buckets = {}
    for start, count, median, p90 in rows:
        if count is None:
            continue
        percentiles = Percentiles(int(count), float(median), float(p90))
        if start is None:
            total = percentiles
        else:
            buckets[start] = percentiles
    return total, dict(sorted(buckets.items()))


async def backlog(
    session: AsyncSession,
    *,
    channel: str | None,
    queue: str | None,
    agent: str | None,
    labels: Sequence[str] = (),
) -> tuple[int, int, datetime | None]:
    """Open conversations, those waiting for an agent, and since when the oldest waits."""
    waiting_since = func.coalesce(cf.c.last_queued_at, cf.c.opened_at, cf.c.first_inbound_at)
    is_waiting = or_(cf.c.last_answered_at.is_(None), cf.c.last_queued_at > cf.c.last_answered_at)
    # IS_OPEN in the WHERE clause lets Postgres read the partial index of open conversations.
    conditions: list[ColumnElement[bool]] = [IS_OPEN]
    if channel is not None:
        conditions.append(cf.c.channel == channel)
    if queue is not None:
        conditions.append(cf.c.queue == queue)
    if agent is not None:
        conditions.append(cf.c.agent_id == agent)
    if labels:
        conditions.append(labeled(labels))
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(is_waiting),
                func.min(waiting_since).filter(is_waiting),
            ).where(*conditions)
        )
    ).one()
    return int(row[0]), int(row[1]), row[2]


async def agents_by_status(session: AsyncSession) -> dict[str, int]:
    """How many agents are in each status now (their latest change)."""
    latest = (
        select(asc.c.agent_id, func.max(asc.c.changed_at).label("changed_at"))
        .group_by(asc.c.agent_id)
        .subquery()
    )
    rows = await session.execute(
        select(asc.c.status, func.count())
        .join(
            latest,
            and_(asc.c.agent_id == latest.c.agent_id, asc.c.changed_at == latest.c.changed_at),
        )
        .group_by(asc.c.status)
    )
    return {status: int(count) for status, count in rows}


async def facts_opened_between(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    channel: str | None,
    queue: str | None,
    labels: Sequence[str] = (),
) -> AsyncIterator[tuple[ConversationFact, list[str]]]:
    """Facts of the conversations opened in ``[start, end)``, oldest first, with their
    labels (only those carrying one of ``labels``, when given)."""
    opened = func.coalesce(cf.c.opened_at, cf.c.first_inbound_at)
    conditions = [opened >= start, opened < end]
    if channel is not None:
        conditions.append(cf.c.channel == channel)
    if queue is not None:
        conditions.append(cf.c.queue == queue)
    if labels:
        conditions.append(labeled(labels))
    result = await session.stream(
        select(cf, labels_of_fact().label("labels"))
        .where(*conditions)
        .order_by(opened, cf.c.conversation_key)
        .execution_options(yield_per=1000)
    )
    async for row in result:
        yield ConversationFact.from_row(row._mapping), sorted(row._mapping["labels"] or [])
