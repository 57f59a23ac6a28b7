"""What a supervisor sees and does: queues' load and service level, agents' load, and
offering a waiting conversation to a chosen agent or setting an agent away."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.routing import holding, presence
from services.routing.console.domain import AgentLoad, QueueHealth, WaitingCard
from services.routing.domain import Agent, AgentStatus, Conversation, ConversationStatus
from services.routing.matching import Matcher
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.errors import Conflict, NotFound

#: Waiting conversations the supervisor view lists at most.
WAITING_SHOWN = 100


@dataclass(frozen=True)
class SupervisorView:
    queues: list[QueueHealth]
    agents: list[AgentLoad]
    waiting: list[WaitingCard]
    server_time: datetime


async def view(uow: UnitOfWork) -> SupervisorView:
    now = utc_now()
    return SupervisorView(
        queues=await uow.console.queue_health(now),
        agents=await uow.console.agent_loads(),
        waiting=await uow.console.waiting(limit=WAITING_SHOWN),
        server_time=now,
    )


async def offer(
    uow: UnitOfWork,
    *,
    matcher: Matcher,
    conversation_id: uuid.UUID,
    agent_id: uuid.UUID,
    note: str | None,
) -> Conversation:
    """Offer a waiting conversation to one available agent with room (409 otherwise); it
    comes back to its queue if they decline or let the offer time out."""
    conversation = await uow.conversations.lock(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    if conversation.status != ConversationStatus.QUEUED:
        raise Conflict(
            f"the conversation is {conversation.status}, not waiting",
            detail={"status": conversation.status.value},
        )
    agent = await uow.agents.lock(agent_id)
    if agent is None:
        raise NotFound("no such agent")
    if agent.status != AgentStatus.AVAILABLE:
        raise Conflict(f"the agent is {agent.status}", detail={"status": agent.status.value})
    channel = conversation.channel
    if await uow.agents.load_on(agent_id, channel) >= agent.room_on(channel):
        raise Conflict(f"the agent has no room for another {channel} conversation")
    queue = await uow.queues.get(conversation.queue_id) if conversation.queue_id else None
    await holding.offer_to(
        uow,
        conversation=conversation,
        agent_id=agent_id,
        at=utc_now(),
        timeout_s=matcher.offer_timeout_s(queue),
        note=note,
    )
    return conversation


async def set_status(uow: UnitOfWork, *, agent_id: uuid.UUID, status: AgentStatus) -> Agent:
    """Set an agent away or offline: their pending offers go back at once."""
    return await presence.set_status(uow, agent_id=agent_id, status=status, at=utc_now())
