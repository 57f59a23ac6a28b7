"""The moves every flow shares: queue a conversation, offer it, take it back.

Lock order everywhere: conversations first (by id when several), then agents.
Every change of holder is written to the hold audit under both locks.
"""

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from services.routing.domain import (
    Conversation,
    ConversationStatus,
    Offer,
    OfferState,
    Queue,
)
from services.routing.repository.conversations import NewOffer
from services.routing.unit_of_work import UnitOfWork
from shared.events import LifecycleStep


async def place(
    uow: UnitOfWork,
    *,
    conversation: Conversation,
    at: datetime,
    queue: Queue | None = None,
    step: LifecycleStep = LifecycleStep.QUEUED,
    note: str | None = None,
) -> bool:
    """Put a conversation in its queue (the best match unless given); False if none takes it.

    A full queue sends it to its overflow queue; with none, it waits unplaced and the
    worker places it once a queue has room.
    """
    if queue is None:
        queue = await uow.queues.best_queue_for(
            channel=conversation.channel,
            provider=conversation.provider,
            language=conversation.language,
        )
    full = (
        queue is not None
        and queue.max_waiting is not None
        and await uow.queues.waiting_count(queue.id) >= queue.max_waiting
    )
    if queue is not None and full:
        overflow_id = queue.overflow_queue_id
        queue = await uow.queues.get(overflow_id) if overflow_id else None
    if queue is None:
        await uow.conversations.update(
            conversation, status=ConversationStatus.QUEUED, queue_id=None
        )
        return False
    await uow.conversations.update(conversation, **queue.placement(at))
    conversation.queue_name = queue.name
    uow.steps.add(step, at=at, conversation=conversation, note=note, queue_schedule=queue.schedule)
    return True


async def offer_to(
    uow: UnitOfWork,
    *,
    conversation: Conversation,
    agent_id: uuid.UUID,
    at: datetime,
    timeout_s: float,
    note: str | None = None,
) -> uuid.UUID:
    """Reserve the conversation for the agent (caller holds both locks); the offer's id."""
    offer_id = uuid.uuid4()
    await uow.conversations.record_hold(
        conversation_id=conversation.id,
        agent_id=agent_id,
        channel=conversation.channel,
        delta=1,
        at=at,
    )
    await uow.conversations.update(
        conversation, status=ConversationStatus.OFFERED, agent_id=agent_id
    )
    await uow.offers.add(
        Offer(
            id=offer_id,
            conversation_id=conversation.id,
            agent_id=agent_id,
            queue_id=conversation.queue_id,
            state=OfferState.PENDING,
            offered_at=at,
            expires_at=at + timedelta(seconds=timeout_s),
            responded_at=None,
            note=note,
        ),
    )
    uow.steps.add(LifecycleStep.OFFERED, at=at, conversation=conversation, agent_id=agent_id)
    uow.steps.notify(
        agent_id, "offer.created", offer_id=str(offer_id), conversation_id=str(conversation.id)
    )
    return offer_id


async def release(uow: UnitOfWork, *, conversation: Conversation, at: datetime) -> uuid.UUID:
    """Take the conversation from its holder (locking the agent); the former holder's id."""
    agent_id = conversation.agent_id
    assert agent_id is not None, "only a held conversation is released"
    await uow.agents.lock(agent_id)
    await uow.conversations.record_hold(
        conversation_id=conversation.id,
        agent_id=agent_id,
        channel=conversation.channel,
        delta=-1,
        at=at,
    )
    await uow.conversations.update(conversation, agent_id=None)
    uow.touch(agent_id, at)
    if await uow.agents.total_load(agent_id) == 0:
        await uow.agents.update(agent_id, last_idle_at=at)
    uow.steps.notify(agent_id, "conversation.released", conversation_id=str(conversation.id))
    return agent_id


async def close_pending_offer(
    uow: UnitOfWork,
    *,
    conversation: Conversation,
    state: OfferState,
    at: datetime,
) -> Offer | None:
    """Close the conversation's pending offer as ``state``; the offer, if there was one."""
    pending = await uow.offers.pending_of(conversation.id)
    if pending is not None:
        await uow.offers.close(pending.id, state=state, at=at)
        uow.steps.notify(pending.agent_id, f"offer.{state}", offer_id=str(pending.id))
    return pending


async def back_to_queue(
    uow: UnitOfWork,
    *,
    conversation: Conversation,
    at: datetime,
    step: LifecycleStep | None = LifecycleStep.REQUEUED,
    offer_state: OfferState = OfferState.RETURNED,
    note: str | None = None,
) -> uuid.UUID:
    """Return a held conversation to its queue, keeping its place; the former holder."""
    await close_pending_offer(uow, conversation=conversation, state=offer_state, at=at)
    previous = await release(uow, conversation=conversation, at=at)
    await uow.conversations.update(
        conversation, status=ConversationStatus.QUEUED, reply_due_at=None
    )
    if step is not None:
        uow.steps.add(step, at=at, conversation=conversation, agent_id=previous, note=note)
    return previous


async def offer_many(
    uow: UnitOfWork,
    *,
    choices: list[tuple[Conversation, uuid.UUID]],
    at: datetime,
    timeout_s: Callable[[Conversation], float],
) -> None:
    """:func:`offer_to` for several (conversation, agent) pairs in one statement, whatever
    their queues (``timeout_s`` gives each offer's time to answer); the caller holds every
    conversation's and agent's lock."""
    new = [
        NewOffer(
            offer_id=uuid.uuid4(),
            conversation_id=conversation.id,
            agent_id=agent_id,
            queue_id=conversation.queue_id,
            channel=conversation.channel,
            expires_at=at + timedelta(seconds=timeout_s(conversation)),
        )
        for conversation, agent_id in choices
    ]
    await uow.conversations.offer_many(new, at=at)
    for (conversation, agent_id), offer in zip(choices, new, strict=True):
        conversation.apply({"status": ConversationStatus.OFFERED, "agent_id": agent_id})
        uow.steps.add(LifecycleStep.OFFERED, at=at, conversation=conversation, agent_id=agent_id)
        uow.steps.notify(
            agent_id,
            "offer.created",
            offer_id=str(offer.offer_id),
            conversation_id=str(conversation.id),
        )
