"""Every query of the routing service."""

import uuid

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.models import conversation
from shared.events import InteractionEvent


async def open_or_attach(session: AsyncSession, event: InteractionEvent) -> uuid.UUID | None:
    """Attach ``event`` to its conversation, opening one if needed; the new id if opened."""
    new_id = uuid.uuid4()
    opened = (
        await session.execute(
            insert(conversation)
            .values(
                id=new_id,
                conversation_key=event.conversation_key,
                channel=event.channel.value,
                provider=event.provider,
                customer_id=event.customer.id,
                status="open",
                opened_at=event.occurred_at,
                last_inbound_at=event.occurred_at,
                inbound_count=1,
            )
            .on_conflict_do_nothing(index_elements=[conversation.c.conversation_key])
            .returning(conversation.c.id)
        )
    ).scalar()
    if opened is not None:
        return new_id
    await session.execute(
        update(conversation)
        .where(conversation.c.conversation_key == event.conversation_key)
        .values(
            inbound_count=conversation.c.inbound_count + 1,
            last_inbound_at=event.occurred_at,
        )
    )
    return None


async def conversation_by_key(session: AsyncSession, key: str) -> dict[str, object] | None:
    row = (
        await session.execute(select(conversation).where(conversation.c.conversation_key == key))
    ).first()
    return dict(row._mapping) if row is not None else None
