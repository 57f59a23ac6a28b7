"""A tiny idempotent consumer for the consumer-loop tests: it counts each event once.

Its tables live in a schema of their own in the test database.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Column, Integer, String, Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import Database, claim_event, naming_metadata, processed_event_table
from shared.events import InteractionEvent

metadata = naming_metadata("ledger_test")
processed_event = processed_event_table(metadata)
counted = Table(
    "counted",
    metadata,
    Column("conversation_key", String(512), primary_key=True),
    Column("events", Integer, nullable=False),
)


async def create_tables(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS ledger_test")
        await connection.run_sync(metadata.create_all)


async def count_events(database: Database, events: Sequence[InteractionEvent]) -> None:
    """Add one per event to its conversation's count, skipping event ids already counted."""
    async with database.transaction() as session:
        for event in events:
            if not await claim_event(session, processed_event, event.event_id):
                continue
            statement = insert(counted).values(conversation_key=event.conversation_key, events=1)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[counted.c.conversation_key],
                    set_={"events": counted.c.events + 1},
                )
            )


async def count_of(database: Database, conversation_key: str) -> int:
    async with database.transaction() as session:
        value = await session.scalar(
            select(func.coalesce(func.sum(counted.c.events), 0)).where(
                counted.c.conversation_key == conversation_key
            )
        )
    return int(value or 0)


def new_topic() -> str:
    return f"test.{uuid.uuid4().hex[:12]}"
