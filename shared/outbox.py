"""The transactional outbox: events that depend on a commit are written in it, then relayed.

A handler inserts its outgoing records in the same transaction as its state
change; :class:`OutboxRelay` publishes them once committed and deletes them
only after the broker acknowledged, so nothing is lost between the two.

A row keeps its record's headers, and, while tracing is on, the trace context of the
transaction that wrote it (``traceparent``): the relay publishes later, from a trace of
its own, and the record still continues the writer's trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from opentelemetry import trace
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared import tracing
from shared.db import Database
from shared.kafka import EventProducer, OutgoingRecord, is_transient
from shared.tasks import finish

__all__ = ["OutboxRelay", "enqueue", "outbox_table"]

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    """A service's outbox table."""
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, Identity(), primary_key=True),
        Column("topic", String(255), nullable=False),
        Column("key", LargeBinary, nullable=True),
        Column("value", LargeBinary, nullable=False),
        # The record's headers as [name, text value] pairs; null when it has none.
        Column("headers", JSONB, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def enqueue(session: AsyncSession, table: Table, records: Sequence[OutgoingRecord]) -> None:
    """Add records to the outbox inside the caller's transaction.

    While tracing is on, a record without a trace context gets the current one, so the
    record continues the trace of the work that wrote it. Header values must be text.
    """
    if not records:
        return
    span = trace.get_current_span() if tracing.in_trace() else None
    rows = []
    for r in records:
        headers = r.headers
        if span is not None and not any(name == "traceparent" for name, _ in headers):
            headers = tracing.with_trace_headers(headers, span)
        stored = [[name, value.decode()] for name, value in headers] if headers else None
        rows.append({"topic": r.topic, "key": r.key, "value": r.value, "headers": stored})
    await session.execute(insert(table), rows)


def _headers(stored: list[list[str]] | None) -> tuple[tuple[str, bytes], ...]:
    return tuple((name, value.encode()) for name, value in stored or ())


class OutboxRelay:
    """Publishes outbox rows in id order and deletes them once acknowledged."""

    def __init__(
        self,
        *,
        database: Database,
        producer: EventProducer,
        table: Table,
        batch: int = 500,
        poll_interval_s: float = 0.5,
        publish_timeout_s: float = 60.0,
    ) -> None:
        self._database = database
        self._producer = producer
        self._table = table
        self._batch = batch
        self._poll_interval_s = poll_interval_s
        self._publish_timeout_s = publish_timeout_s
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    def wake(self) -> None:
        """Relay now rather than at the next poll (call after a commit that enqueued)."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        await finish(self._task, 10)

    @property
    def name(self) -> str:
        return f"outbox:{self._table.fullname}"

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def relay_once(self) -> int:
        """Publish one batch; return how many rows were relayed."""
        t = self._table
        async with self._database.transaction() as session:
            # One relay at a time per outbox, so records leave in the order they were written.
            lock = select(func.pg_try_advisory_xact_lock(func.hashtext(t.fullname)))
            if not (await session.execute(lock)).scalar():
                return 0
            rows = (
                await session.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.value, t.c.headers)
                    .order_by(t.c.id)
                    .limit(self._batch)
                )
            ).all()
            if not rows:
                return 0
            # Waits for the producer to settle what it sent rather than sending it again:
            # records given up on after a webhook's few seconds may still reach the broker
            # once it answers, and a second send would add a copy of each. The producer
            # fails what the broker did not take within its request timeout.
            await self._producer.publish_many(
                [
                    OutgoingRecord(row.topic, row.key, row.value, _headers(row.headers))
                    for row in rows
                ],
                timeout_s=self._publish_timeout_s,
            )
            await session.execute(delete(t).where(t.c.id.in_([row.id for row in rows])))
        return len(rows)

    async def _run(self) -> None:
        delay = 0.2
        while not self._stopping:
            try:
                relayed = await self.relay_once()
                delay = 0.2
            except Exception as exc:
                if not is_transient(exc):
                    log.exception("outbox relay failed")
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if relayed == self._batch:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval_s)
            self._wake.clear()
