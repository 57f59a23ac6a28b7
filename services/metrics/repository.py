"""Every query of the metrics service."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.models import volume_minute
from shared.events import InteractionEvent


async def count_interaction(session: AsyncSession, event: InteractionEvent) -> None:
    """Add one to the minute bucket the event happened in (not when we received it)."""
    bucket = event.occurred_at.replace(second=0, microsecond=0)
    statement = insert(volume_minute).values(
        bucket=bucket,
        channel=event.channel.value,
        provider=event.provider,
        event_type=event.type.value,
        direction=event.direction.value,
        events=1,
    )
    await session.execute(
        statement.on_conflict_do_update(
            constraint=volume_minute.primary_key,
            set_={"events": volume_minute.c.events + 1},
        )
    )


async def volume(
    session: AsyncSession, *, start: datetime, end: datetime
) -> list[dict[str, object]]:
    """Events per channel, provider, type and direction in ``[start, end)``."""
    v = volume_minute
    rows = await session.execute(
        select(v.c.channel, v.c.provider, v.c.event_type, v.c.direction, func.sum(v.c.events))
        .where(v.c.bucket >= start, v.c.bucket < end)
        .group_by(v.c.channel, v.c.provider, v.c.event_type, v.c.direction)
        .order_by(v.c.channel, v.c.provider, v.c.event_type, v.c.direction)
    )
    return [
        {
            "channel": channel,
            "provider": provider,
            "type": event_type,
            "direction": direction,
            "events": int(total),
        }
        for channel, provider, event_type, direction, total in rows
    ]
