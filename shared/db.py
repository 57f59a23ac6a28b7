"""Database plumbing: the async engine, the unit of work, idempotency on event ids."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from opentelemetry.trace import SpanKind, Tracer
from sqlalchemy import Column, DateTime, MetaData, Table, Uuid, event, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from shared import tracing
from shared.clock import utc_now
from shared.settings import PlatformSettings

__all__ = [
    "Database",
    "async_url",
    "claim_event",
    "claim_events",
    "naming_metadata",
    "processed_event_table",
]

#: A pooled connection idle for longer than this is pinged before it is handed out.
PING_AFTER_IDLE_S = 1.0

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def naming_metadata(schema: str) -> MetaData:
    """A service's metadata: its own Postgres schema and our constraint naming convention."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def processed_event_table(metadata: MetaData) -> Table:
    """The table a consumer records handled event ids in, so a redelivery counts once."""
    return Table(
        "processed_event",
        metadata,
        Column("event_id", Uuid, primary_key=True),
        Column("processed_at", DateTime(timezone=True), nullable=False),
    )


def async_url(url: str) -> str:
    """Accept ``postgresql://`` URLs too and pick the asyncpg driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


async def claim_event(session: AsyncSession, table: Table, event_id: uuid.UUID) -> bool:
    """Record ``event_id`` as processed; False when it already was (skip the event)."""
    statement = (
        insert(table)
        .values(event_id=event_id, processed_at=utc_now())
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return (await session.execute(statement)).first() is not None


async def claim_events(
    session: AsyncSession, table: Table, event_ids: Iterable[uuid.UUID]
) -> set[uuid.UUID]:
    """Record a batch of event ids as processed in one statement; those not seen before.

    The ids are inserted in sorted order, so two transactions claiming overlapping
    batches take their row locks in the same order and cannot deadlock on them.
    """
    ids = sorted(set(event_ids))
    if not ids:
        return set()
    at = utc_now()
    statement = (
        insert(table)
        .values([{"event_id": event_id, "processed_at": at} for event_id in ids])
        .on_conflict_do_nothing()
        .returning(table.c.event_id)
    )
    return set((await session.execute(statement)).scalars())


def _ping_idle_connections(engine: AsyncEngine) -> None:
    """Ping a pooled connection before handing it out, when it has been idle for a while.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and through asyncpg a ping is
    three round trips (BEGIN, a statement, ROLLBACK): more than a webhook's own statements.
    A connection in use a moment ago is alive; one idle for a while may have been closed by
    a Postgres restart or an idle timeout, and is replaced before anyone uses it. A restart
    between two uses within the idle threshold fails that one transaction, as it fails the
    transactions in flight, and the disconnect invalidates the rest of the pool.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_: Any, record: ConnectionPoolEntry) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(connection: Any, record: ConnectionPoolEntry, _: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < PING_AFTER_IDLE_S:
            return
        try:
            connection.ping()
        except Exception as exc:
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


class Database:
    """An engine and its sessions; the one place where transactions commit.

    With a ``tracer``, a transaction run inside a trace (a request, a consumed batch, a
    delivery) gets a span; the background polls that find nothing start no trace.
    """

    def __init__(self, settings: PlatformSettings, *, tracer: Tracer | None = None) -> None:
        self.tracer = tracer
        self.engine: AsyncEngine = create_async_engine(
            async_url(settings.database_url),
            pool_size=settings.database_pool_size,
            # Every connection stays open: past the pool size, SQLAlchemy would open one for a
            # burst and close it when it comes back, and under load that is one new connection
            # (TLS offer, authentication, type codecs) every few requests.
            max_overflow=0,
            # A statement's error and log lines then leave out the values: customers' data.
            hide_parameters=True,
        )
        _ping_idle_connections(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._autocommit_sessions = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose work commits when the block ends, or rolls back on error."""
        async with self._span("transaction"), self._sessions() as session, session.begin():
            yield session

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncSession]:
        """A session each of whose statements commits on its own, for work no transaction spans.

        A transaction costs two round trips to Postgres (BEGIN, COMMIT) beyond its
        statements: a request that runs one statement, or statements each atomic and
        idempotent by itself, saves them here. Statements that must stand or fall
        together belong in :meth:`transaction`.
        """
        async with self._span("autocommit"), self._autocommit_sessions() as session:
            yield session

    @asynccontextmanager
    async def _span(self, name: str) -> AsyncIterator[None]:
        if self.tracer is None or not tracing.in_trace():
            yield
            return
        with self.tracer.start_as_current_span(
            name, kind=SpanKind.CLIENT, attributes={"db.system.name": "postgresql"}
        ):
            yield

    async def ping(self, timeout: float = 2.0) -> bool:
        """True when the database answers ``SELECT 1`` within ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.engine.dispose()
