"""Retention: rows older than a setting are deleted (or pseudonymized) in bounded batches."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import utc_now
from shared.db import Database
from shared.workers import PeriodicWorker

__all__ = ["RetentionRule", "Sweep", "delete_older", "retention_worker", "sweep_once"]

log = logging.getLogger(__name__)

#: One batch of a rule: ``(session, cutoff, limit)`` -> how many rows it deleted or changed.
#: Rows it handled must stop matching, so that the next batch moves on.
Sweep = Callable[[AsyncSession, datetime, int], Awaitable[int]]

#: Batches one rule runs per pass at most; what is left waits for the next pass.
MAX_BATCHES = 100


@dataclass(frozen=True)
class RetentionRule:
    """Rows of one kind of data kept for ``days`` (0: forever), and how to sweep them."""

    kind: str
    days: float
    sweep: Sweep


async def delete_older(
    session: AsyncSession,
    table: Table,
    column: Any,
    cutoff: datetime,
    limit: int,
    *where: ColumnElement[bool],
) -> int:
    """Delete up to ``limit`` rows of ``table`` whose ``column`` is before ``cutoff`` (and
    ``where``); rows another transaction holds are left for the next batch."""
    (key,) = table.primary_key.columns
    doomed = (
        select(key)
        .where(column < cutoff, *where)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(delete(table).where(key.in_(doomed)))
    return int(getattr(result, "rowcount", 0) or 0)


async def sweep_once(
    database: Database, rules: Sequence[RetentionRule], *, batch: int, now: datetime | None = None
) -> dict[str, int]:
    """Run every rule with a retention once, each batch its own transaction; rows per kind."""
    now = now or utc_now()
    swept: dict[str, int] = {}
    for rule in rules:
        if rule.days <= 0:
            continue
        cutoff = now - timedelta(days=rule.days)
        total = 0
        for _ in range(MAX_BATCHES):
            async with database.transaction() as session:
                done = await rule.sweep(session, cutoff, batch)
            total += done
            if done < batch:
                break
        swept[rule.kind] = total
        if total:
            log.info("retention swept", extra={"kind": rule.kind, "rows": total})
    return swept


def retention_worker(
    database: Database,
    rules: Sequence[RetentionRule],
    *,
    name: str,
    interval_s: float,
    batch: int,
) -> PeriodicWorker:
    """A worker that runs :func:`sweep_once` every ``interval_s`` seconds."""

    async def job() -> None:
        await sweep_once(database, rules, batch=batch)

    return PeriodicWorker(name=name, interval_s=interval_s, job=job)
