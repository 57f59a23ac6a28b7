"""Metrics' logic: counting each event once, in the bucket of the time it happened."""

from collections.abc import Sequence
from typing import Any

from services.metrics import repository
from services.metrics.models import processed_event
from shared.db import Database, claim_event
from shared.events import InteractionEvent


async def record_events(database: Database, events: Sequence[Any]) -> None:
    """Aggregate a batch of events; redelivered ones are skipped by event id."""
    async with database.transaction() as session:
        for event in events:
            if not await claim_event(session, processed_event, event.event_id):
                continue
            if isinstance(event, InteractionEvent):
                await repository.count_interaction(session, event)
