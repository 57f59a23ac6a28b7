"""A delivery row no event can be read from is settled as failed, not claimed forever.

Before, one such row (left by another version, or written by hand) made every claim fail,
so no reply behind it was ever delivered.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, insert, select

from services.social.models import delivery as social_delivery
from shared.clock import utc_now
from shared.db import Database
from shared.outbound import delivery
from tests.factories import interaction


async def test_an_unreadable_row_is_failed_and_the_rest_still_claimed(database: Database) -> None:
    at = utc_now()
    bad, good = uuid.uuid4(), interaction(provider="whatsapp")
    rows = [
        {"event_id": bad, "event": "{}"},
        {"event_id": good.event_id, "event": good.to_json().decode()},
    ]
    async with database.transaction() as session:
        await session.execute(
            insert(social_delivery),
            [
                {
                    **row,
                    "provider": "whatsapp",
                    "state": "queued",
                    "attempts": 0,
                    "next_attempt_at": at - timedelta(seconds=1),
                    "created_at": at,
                }
                for row in rows
            ],
        )
    try:
        async with database.transaction() as session:
            claimed = await delivery.due(session, social_delivery, at=at, limit=1000)
        async with database.transaction() as session:
            states = dict(
                (
                    await session.execute(
                        select(social_delivery.c.event_id, social_delivery.c.state).where(
                            social_delivery.c.event_id.in_([bad, good.event_id])
                        )
                    )
                ).all()
            )
    finally:
        async with database.transaction() as session:
            await session.execute(
                delete(social_delivery).where(social_delivery.c.event_id.in_([bad, good.event_id]))
            )
    assert good.event_id in {item.event.event_id for item in claimed}
    assert bad not in {item.event.event_id for item in claimed}
    assert states == {bad: "failed", good.event_id: "queued"}
