"""Agent status changes and what they do to the agent's offers and conversations."""

import uuid
from datetime import datetime

from services.routing import holding, wrapup
from services.routing.domain import (
    UNREACHABLE,
    Agent,
    AgentChanges,
    AgentStatus,
    Conversation,
    ConversationStatus,
    OnAgentOffline,
)
from services.routing.unit_of_work import UnitOfWork
from shared.errors import NotFound
from shared.events import LifecycleStep


async def _lock_holdings(uow: UnitOfWork, agent_id: uuid.UUID) -> tuple[Agent, list[Conversation]]:
    """Lock the agent's conversations, then the agent (the lock order), and return both."""
    held = await uow.conversations.held_by(agent_id)
    locked = await uow.conversations.lock_many([c.id for c in held])
    agent = await uow.agents.lock(agent_id)
    if agent is None:
        raise NotFound("no such agent")
    # The matcher may have offered something between the read and the agent lock.
    known = {c.id for c in locked}
    late = [c.id for c in await uow.conversations.held_by(agent_id) if c.id not in known]
    locked += await uow.conversations.lock_many(late)
    return agent, [c for c in locked if c.agent_id == agent_id]


async def set_status(
    uow: UnitOfWork,
    *,
    agent_id: uuid.UUID,
    status: AgentStatus,
    at: datetime,
) -> Agent:
    """Change the agent's status; away or offline returns their pending offers at once,
    and offline re-queues their open conversations where the queue says so."""
    agent, holdings = await _lock_holdings(uow, agent_id)
    if agent.status == status:
        return agent
    # Any status the agent chooses ends their wrap-ups (available: "I am ready").
    await wrapup.finish(uow, agent_id=agent_id, at=at, then=None)
    uow.touch(agent_id, at)
    changes: AgentChanges = {"status": status, "status_changed_at": at}
    if status == AgentStatus.AVAILABLE:
        changes["last_idle_at"] = at
        changes["consecutive_timeouts"] = 0
    agent = await uow.agents.update(agent_id, **changes)
    uow.steps.add(LifecycleStep.AGENT_STATUS_CHANGED, at=at, agent_id=agent_id, agent_status=status)
    uow.steps.notify(agent_id, "status.changed", status=status)
    if status not in UNREACHABLE:
        return agent
    for conversation in holdings:
        if conversation.status == ConversationStatus.OFFERED:
            await holding.back_to_queue(
                uow, conversation=conversation, at=at, note=f"agent went {status}"
            )
        elif conversation.status == ConversationStatus.ASSIGNED and status == AgentStatus.OFFLINE:
            queue = await uow.queues.get(conversation.queue_id) if conversation.queue_id else None
            if queue is not None and queue.on_agent_offline == OnAgentOffline.REQUEUE:
                await holding.back_to_queue(
                    uow, conversation=conversation, at=at, note="agent went offline"
                )
    return agent
