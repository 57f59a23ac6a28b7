"""The supervisor API: the live view of queues and agents, and a supervisor's actions."""

import uuid
from typing import Any

from fastapi import APIRouter, Depends

from services.routing.console import supervisor
from services.routing.console.schemas import SupervisorOffer, SupervisorOut, SupervisorStatus
from services.routing.deps import MatcherDep, UnitOfWorkDep, require_supervisor
from services.routing.domain import AgentStatus
from services.routing.schemas import AgentOut, ConversationOut

#: Who may call these: the admin, or a supervisor (by token or console session).
router = APIRouter(
    prefix="/supervisor", tags=["supervisor"], dependencies=[Depends(require_supervisor)]
)


@router.get("/view", response_model=SupervisorOut)
async def view(uow: UnitOfWorkDep) -> Any:
    """Per queue: waiting, offered, assigned, longest wait, service level of the last hour;
    every agent's status and load per channel; the waiting conversations."""
    async with uow:
        return await supervisor.view(uow)


@router.post("/conversations/{conversation_id}/offer", response_model=ConversationOut)
async def offer(
    conversation_id: uuid.UUID, body: SupervisorOffer, uow: UnitOfWorkDep, matcher: MatcherDep
) -> Any:
    """Offer a waiting conversation to an available agent with room (409 otherwise)."""
    return await uow.run(
        supervisor.offer,
        matcher=matcher,
        conversation_id=conversation_id,
        agent_id=body.agent_id,
        note=body.note,
    )


@router.put("/agents/{agent_id}/status", response_model=AgentOut)
async def set_status(agent_id: uuid.UUID, body: SupervisorStatus, uow: UnitOfWorkDep) -> Any:
    """Set an agent away or offline; their pending offers go back to their queues."""
    return await uow.run(supervisor.set_status, agent_id=agent_id, status=AgentStatus(body.status))
