"""The write side of the metrics service: the SQL that keeps conversation facts, KPI
buckets, volume and agent status changes current, for the consumer and the rebuild."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.contributions import Deltas
from services.metrics.facts import ConversationFact
from services.metrics.models import (
    agent_status_change,
    conversation_fact,
    frt_count,
    frt_count_all,
    frt_second_count,
    frt_second_count_all,
    kpi_bucket,
    kpi_rollup,
    volume_minute,
)

cf = conversation_fact
kb = kpi_bucket
asc = agent_status_change
#: Rows one bulk upsert sends at most.
CHUNK = 5000


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


async def _add(session: AsyncSession, table: Table, rows: Sequence[dict[str, object]]) -> None:
    """Add the rows' sums (negative ones retract) to ``table``, in bulk upserts."""
    sums = [c.name for c in table.c if c.name in ("n", "total_ms")]
    for first in range(0, len(rows), CHUNK):
        statement = insert(table)
        await session.execute(
            statement.on_conflict_do_update(
                constraint=table.primary_key,
                set_={name: table.c[name] + statement.excluded[name] for name in sums},
            ),
            list(rows[first : first + CHUNK]),
        )


async def add_to_buckets(session: AsyncSession, deltas: Deltas) -> int:
    """Add ``deltas`` to ``kpi_bucket`` and to the rollups read from it, tables in one order;
    how many ``kpi_bucket`` rows that was."""
    rows = list(deltas.rows())
    await _add(session, kb, rows)
    await _add(session, kpi_rollup, list(deltas.rollup_rows()))
    await _add(session, frt_count, list(deltas.frt_rows()))
    await _add(session, frt_count_all, list(deltas.frt_all_rows()))
    await _add(session, frt_second_count, list(deltas.frt_second_rows()))
    await _add(session, frt_second_count_all, list(deltas.frt_second_all_rows()))
    return len(rows)


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


async def conversation_channel(session: AsyncSession, conversation_key: str) -> str | None:
    return (
        await session.execute(select(cf.c.channel).where(cf.c.conversation_key == conversation_key))
    ).scalar_one_or_none()


async def lock_buckets_for_rebuild(session: AsyncSession) -> None:
    # Consumers wait while the buckets are rebuilt; their deltas then land on the new sums.
    await session.execute(text("LOCK TABLE metrics.kpi_bucket IN EXCLUSIVE MODE"))
    for table in (kb, kpi_rollup, frt_count, frt_count_all, frt_second_count, frt_second_count_all):
        await session.execute(delete(table))


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
