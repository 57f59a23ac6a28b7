"""Wrap-up: an agent's after-contact work once a conversation of theirs is resolved.

A queue with ``wrap_up_seconds`` puts the agent who resolved one of its conversations (or
whose call ended) in wrap-up on that conversation's channel: no new offer of that channel
reaches them until the time is up (the worker ends it) or they set themselves available.
While any wrap-up runs the agent's status is ``wrap_up``. Each wrap-up that ends is published
as ``conversation.wrapped_up`` with its length, which metrics adds to the conversation's
handle time.
"""

import uuid
from datetime import datetime, timedelta

from services.routing.domain import AgentStatus, Conversation
from services.routing.repository.work import WrapUp
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.events import LifecycleStep

#: Statuses in which resolving a conversation starts a wrap-up.
WRAPPING_STATUSES = (AgentStatus.AVAILABLE, AgentStatus.WRAP_UP)


async def _announce(uow: UnitOfWork, ended: WrapUp, at: datetime) -> None:
    """Publish the end of a wrap-up on its conversation's key, with how long it lasted."""
    conversation = await uow.conversations.get(ended.conversation_id)
    if conversation is None:
        return
    uow.steps.add(
        LifecycleStep.WRAPPED_UP,
        at=at,
        conversation=conversation,
        agent_id=ended.agent_id,
        queue=ended.queue,
        wrap_up_seconds=max(0.0, (at - ended.started_at).total_seconds()),
    )


async def _set_status(
    uow: UnitOfWork, agent_id: uuid.UUID, status: AgentStatus, at: datetime
) -> None:
    if status == AgentStatus.AVAILABLE:
        await uow.agents.update(agent_id, status=status, status_changed_at=at, last_idle_at=at)
    else:
        await uow.agents.update(agent_id, status=status, status_changed_at=at)
    uow.steps.add(LifecycleStep.AGENT_STATUS_CHANGED, at=at, agent_id=agent_id, agent_status=status)
    uow.steps.notify(agent_id, "status.changed", status=status)


async def begin(
    uow: UnitOfWork, *, agent_id: uuid.UUID, conversation: Conversation, at: datetime
) -> bool:
    """Start the agent's wrap-up after ``conversation`` (its queue permitting); whether it did.
    The caller holds the agent's lock."""
    queue = await uow.queues.get(conversation.queue_id) if conversation.queue_id else None
    if queue is None or not queue.wrap_up_seconds:
        return False
    agent = await uow.agents.get(agent_id)
    if agent is None or agent.status not in WRAPPING_STATUSES:
        return False
    # One wrap-up per channel: a resolve during one ends it and starts the next.
    for ended in await uow.work.take_wrap_ups(agent_id, conversation.channel):
        await _announce(uow, ended, at)
    await uow.work.add_wrap_up(
        WrapUp(
            agent_id=agent_id,
            channel=conversation.channel,
            conversation_id=conversation.id,
            queue=queue.name,
            started_at=at,
            ends_at=at + timedelta(seconds=queue.wrap_up_seconds),
        )
    )
    uow.touch(agent_id, at)
    if agent.status != AgentStatus.WRAP_UP:
        await _set_status(uow, agent_id, AgentStatus.WRAP_UP, at)
    return True


async def finish(
    uow: UnitOfWork,
    *,
    agent_id: uuid.UUID,
    at: datetime,
    channel: str | None = None,
    then: AgentStatus | None = AgentStatus.AVAILABLE,
) -> int:
    """End the agent's wrap-ups (of ``channel``, else all); once none is left, a ``wrap_up``
    status becomes ``then`` (None: the caller sets it). How many ended."""
    ended = await uow.work.take_wrap_ups(agent_id, channel)
    for wrap_up in ended:
        await _announce(uow, wrap_up, at)
    if ended:
        uow.touch(agent_id, at)
    agent = await uow.agents.get(agent_id)
    left = await uow.work.wrap_ups_of(agent_id)
    if agent is not None and agent.status == AgentStatus.WRAP_UP and not left and then:
        await _set_status(uow, agent_id, then, at)
    return len(ended)


async def end_due(uow: UnitOfWork, *, limit: int) -> int:
    """The worker's pass: end the wrap-ups whose time is up."""
    now = utc_now()
    done = 0
    for agent_id in await uow.work.agents_with_due_wrap_ups(now, limit):
        if await uow.agents.lock(agent_id, skip_locked=True) is None:
            continue
        for wrap_up in await uow.work.wrap_ups_of(agent_id):
            if wrap_up.ends_at <= now:
                done += await finish(
                    uow, agent_id=agent_id, at=wrap_up.ends_at, channel=wrap_up.channel
                )
    return done
