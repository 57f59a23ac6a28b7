"""Erasure and retention of a connector's outbound ``delivery`` rows (each holds its reply's
whole event: the text, the customer and the conversation key)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, cast, delete
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.outbound.delivery import DeliveryState
from shared.privacy.retention import RetentionRule, delete_older

__all__ = ["SETTLED_STATES", "delivery_retention", "erase_deliveries"]

#: Deliveries that are over: sent, failed, or uncertain (an operator had the retention's
#: time to look at those).
SETTLED_STATES = (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.UNCERTAIN)


async def erase_deliveries(session: AsyncSession, table: Table, keys: Sequence[str]) -> int:
    """Delete every delivery of these conversations, whatever its state; how many.

    A reply still queued is then never sent: its customer asked to be forgotten.
    """
    if not keys:
        return 0
    key = cast(table.c.event, JSONB)["conversation_key"].astext
    result = await session.execute(delete(table).where(key.in_(list(keys))))
    return int(getattr(result, "rowcount", 0) or 0)


def delivery_retention(table: Table, days: float) -> RetentionRule:
    """Settled deliveries are deleted ``days`` after they were queued."""

    async def sweep(session: AsyncSession, cutoff: datetime, limit: int) -> int:
        return await delete_older(
            session, table, table.c.created_at, cutoff, limit, table.c.state.in_(SETTLED_STATES)
        )

    return RetentionRule(kind="deliveries", days=days, sweep=sweep)
