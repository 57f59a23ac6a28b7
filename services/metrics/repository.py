"""Every query of the metrics service."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.facts import ConversationFact
from services.metrics.models import (
    agent_status_change,
    conversation_fact,
    kpi_bucket,
    processed_event,
    volume_minute,
)

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


async def claim_events(session: AsyncSession, event_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Record the ids as processed in one statement; return those not seen before."""
    ids = sorted(set(event_ids))
    if not ids:
        return set()
    now = datetime.now(UTC)
    statement = (
        insert(processed_event)
        .values([{"event_id": i, "processed_at": now} for i in ids])
        .on_conflict_do_nothing()
        .returning(processed_event.c.event_id)
    )
    return set((await session.execute(statement)).scalars())


async def lock_facts(session: AsyncSession, keys: Sequence[str]) -> dict[str, ConversationFact]:
    """The facts of ``keys``, locked until the transaction ends."""
    rows = await session.execute(
        select(cf).where(cf.c.conversation_key.in_(sorted(keys))).with_for_update()
    )
    return {row.conversation_key: ConversationFact.from_row(row._mapping) for row in rows}


async def save_facts(session: AsyncSession, facts: Sequence[ConversationFact]) -> None:
    if not facts:
        return
    statement = insert(cf)
    columns = {c.name: statement.excluded[c.name] for c in cf.c if c.name != "conversation_key"}
    await session.execute(
        statement.on_conflict_do_update(constraint=cf.primary_key, set_=columns),
        [fact.as_row() for fact in sorted(facts, key=lambda f: f.conversation_key)],
    )


async def add_volume(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = insert(volume_minute)
    await session.execute(
        statement.on_conflict_do_update(
            constraint=volume_minute.primary_key,
            set_={"events": volume_minute.c.events + statement.excluded.events},
        ),
        list(rows),
    )


async def add_to_buckets(session: AsyncSession, rows: Sequence[dict[str, object]]) -> None:
    """Add sums (negative ones retract) to ``kpi_bucket`` in one bulk upsert."""
    if not rows:
        return
    statement = insert(kb)
    await session.execute(
        statement.on_conflict_do_update(
            constraint=kb.primary_key,
            set_={
                "n": kb.c.n + statement.excluded.n,
                "total_ms": kb.c.total_ms + statement.excluded.total_ms,
            },
        ),
        list(rows),
    )


async def insert_status_change(
    session: AsyncSession, *, agent_id: str, changed_at: datetime, status: str
) -> bool:
    statement = (
        insert(asc)
        .values(agent_id=agent_id, changed_at=changed_at, status=status)
        .on_conflict_do_nothing()
        .returning(asc.c.agent_id)
    )
    return (await session.execute(statement)).first() is not None


async def status_neighbours(
    session: AsyncSession, *, agent_id: str, changed_at: datetime
) -> tuple[Any | None, Any | None]:
    """The agent's status changes just before and just after ``changed_at``."""
    before = await session.execute(
        select(asc)
        .where(asc.c.agent_id == agent_id, asc.c.changed_at < changed_at)
        .order_by(asc.c.changed_at.desc())
        .limit(1)
    )
    after = await session.execute(
        select(asc)
        .where(asc.c.agent_id == agent_id, asc.c.changed_at > changed_at)
        .order_by(asc.c.changed_at)
        .limit(1)
    )
    return before.first(), after.first()


async def lock_buckets_for_rebuild(session: AsyncSession) -> None:
    # Consumers wait while the buckets are rebuilt; their deltas then land on the new sums.
    await session.execute(text("LOCK TABLE metrics.kpi_bucket IN EXCLUSIVE MODE"))
    await session.execute(delete(kb))


async def all_facts(session: AsyncSession) -> AsyncIterator[ConversationFact]:
    result = await session.stream(select(cf).execution_options(yield_per=2000))
    async for row in result:
        yield ConversationFact.from_row(row._mapping)


async def all_volume(session: AsyncSession) -> AsyncIterator[Any]:
    result = await session.stream(select(volume_minute).execution_options(yield_per=2000))
    async for row in result:
        yield row


async def all_status_changes(session: AsyncSession) -> AsyncIterator[Any]:
    result = await session.stream(
        select(asc).order_by(asc.c.agent_id, asc.c.changed_at).execution_options(yield_per=2000)
    )
    async for row in result:
        yield row


def _bucket_conditions(f: Filters) -> list[ColumnElement[bool]]:
    conditions = [
        kb.c.granularity == f.granularity,
        kb.c.bucket_start >= f.start,
        kb.c.bucket_start < f.end,
    ]
    if f.channel is not None:
        conditions.append(kb.c.channel == f.channel)
    if f.queue is not None:
        conditions.append(kb.c.queue == f.queue)
    if f.agent is not None:
        conditions.append(kb.c.agent_id == f.agent)
    return conditions


async def bucket_sums(session: AsyncSession, f: Filters) -> list[tuple[datetime, str, int, int]]:
    """``(bucket_start, measure, n, total_ms)`` summed over the filtered dimensions."""
    rows = await session.execute(
        select(kb.c.bucket_start, kb.c.measure, func.sum(kb.c.n), func.sum(kb.c.total_ms))
        .where(*_bucket_conditions(f))
        .group_by(kb.c.bucket_start, kb.c.measure)
        .order_by(kb.c.bucket_start)
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


async def volume_breakdown(session: AsyncSession, f: Filters) -> list[tuple[str, str, str, int]]:
    """``(channel, provider, measure, events)`` of the interaction volume."""
    rows = await session.execute(
        select(kb.c.channel, kb.c.provider, kb.c.measure, func.sum(kb.c.n))
        .where(*_bucket_conditions(f), kb.c.measure.in_(("inbound", "outbound", "automated")))
        .group_by(kb.c.channel, kb.c.provider, kb.c.measure)
        .order_by(kb.c.channel, kb.c.provider, kb.c.measure)
    )
    return [(c, p, m, int(n)) for c, p, m, n in rows]


def _frt_ms() -> ColumnElement[Any]:
    return func.round(func.extract("epoch", cf.c.first_reply_at - cf.c.first_inbound_at) * 1000)


@dataclass(frozen=True)
class Percentiles:
    """How many first responses, and their median and p90 in milliseconds."""

    responded: int
    median_ms: float
    p90_ms: float


async def first_response_percentiles(
    session: AsyncSession, f: Filters
) -> tuple[Percentiles | None, dict[datetime, Percentiles]]:
    """Median and p90 of the first response time over the range, and per bucket.

    Nearest rank (``percentile_disc``): the smallest value with at least p of the
    values at or below it. Same facts and bucketing as the ``frt`` measure.
    """
    bucket = func.date_trunc(f.granularity, cf.c.first_reply_at, "UTC")
    frt = _frt_ms()
    conditions = [
        cf.c.first_inbound_at.is_not(None),
        cf.c.first_reply_at >= cf.c.first_inbound_at,
        bucket >= f.start,
        bucket < f.end,
    ]
    if f.channel is not None:
        conditions.append(func.coalesce(cf.c.channel, "") == f.channel)
    if f.queue is not None:
        conditions.append(func.coalesce(cf.c.queue, "") == f.queue)
    if f.agent is not None:
        conditions.append(cf.c.first_reply_agent == f.agent)
    stats = (
        func.count(),
        func.percentile_disc(0.5).within_group(frt),
        func.percentile_disc(0.9).within_group(frt),
    )
    overall = (await session.execute(select(*stats).where(*conditions))).one()
    rows = await session.execute(
        select(bucket, *stats).where(*conditions).group_by(bucket).order_by(bucket)
    )
    per_bucket = {
        start: Percentiles(int(count), float(median), float(p90))
        for start, count, median, p90 in rows
    }
    total = overall[0] and Percentiles(int(overall[0]), float(overall[1]), float(overall[2]))
    return total or None, per_bucket


async def backlog(
    session: AsyncSession, *, channel: str | None, queue: str | None, agent: str | None
) -> tuple[int, int, datetime | None]:
    """Open conversations, those waiting for an agent, and since when the oldest waits."""
    opened = func.coalesce(cf.c.opened_at, cf.c.first_inbound_at)
    closed = func.greatest(cf.c.last_resolved_at, cf.c.abandoned_at)
    is_open = and_(
        opened.is_not(None),
        or_(
            closed.is_(None),
            and_(cf.c.last_reopened_at.is_not(None), cf.c.last_reopened_at > closed),
        ),
    )
    waiting_since = func.coalesce(cf.c.last_queued_at, cf.c.opened_at, cf.c.first_inbound_at)
    is_waiting = and_(
        is_open,
        or_(cf.c.last_answered_at.is_(None), cf.c.last_queued_at > cf.c.last_answered_at),
    )
    conditions: list[ColumnElement[bool]] = []
    if channel is not None:
        conditions.append(cf.c.channel == channel)
    if queue is not None:
        conditions.append(cf.c.queue == queue)
    if agent is not None:
        conditions.append(cf.c.agent_id == agent)
    row = (
        await session.execute(
            select(
                func.count().filter(is_open),
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
    session: AsyncSession, *, start: datetime, end: datetime, channel: str | None, queue: str | None
) -> AsyncIterator[ConversationFact]:
    """Facts of the conversations opened in ``[start, end)``, oldest first."""
    opened = func.coalesce(cf.c.opened_at, cf.c.first_inbound_at)
    conditions = [opened >= start, opened < end]
    if channel is not None:
        conditions.append(cf.c.channel == channel)
    if queue is not None:
        conditions.append(cf.c.queue == queue)
    result = await session.stream(
        select(cf)
        .where(*conditions)
        .order_by(opened, cf.c.conversation_key)
        .execution_options(yield_per=1000)
    )
    async for row in result:
        yield ConversationFact.from_row(row._mapping)


async def conversation_channel(session: AsyncSession, conversation_key: str) -> str | None:
    return (
        await session.execute(select(cf.c.channel).where(cf.c.conversation_key == conversation_key))
    ).scalar_one_or_none()
