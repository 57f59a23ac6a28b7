"""The agent API the console reads beyond the core one: workspace, colleagues, notes and
canned responses. Bearer token or console session cookie, like every /agent endpoint."""

import uuid
from typing import Any

from fastapi import APIRouter

from services.routing.console import workspace
from services.routing.console.schemas import (
    CannedOut,
    DirectoryOut,
    NoteBody,
    WorkspaceOut,
)
from services.routing.deps import AgentDep, UnitOfWorkDep
from services.routing.schemas import MessageOut

router = APIRouter(prefix="/agent", tags=["agent"])


@router.get("/workspace", response_model=WorkspaceOut)
async def my_workspace(uow: UnitOfWorkDep, agent: AgentDep) -> Any:
    """Me, my pending offers (customer, first words, expiry) and my assigned conversations
    (customer, SLA clock), in one read."""
    async with uow:
        return await workspace.workspace(uow, agent=agent)


@router.get("/directory", response_model=DirectoryOut)
async def directory(uow: UnitOfWorkDep, agent: AgentDep) -> Any:
    """Other agents (with their status) and the queues: where I can transfer to."""
    async with uow:
        return await workspace.directory(uow, agent_id=agent.id)


@router.post("/conversations/{conversation_id}/notes", response_model=MessageOut, status_code=201)
async def add_note(
    conversation_id: uuid.UUID, body: NoteBody, uow: UnitOfWorkDep, agent: AgentDep
) -> Any:
    """An internal note in the transcript (author `note`): agents see it, the customer never
    gets it, and it is not a reply."""
    return await uow.run(
        workspace.add_note, agent_id=agent.id, conversation_id=conversation_id, text=body.text
    )


@router.get("/canned-responses", response_model=list[CannedOut])
async def canned_responses(uow: UnitOfWorkDep, agent: AgentDep) -> Any:
    """Every canned response, with the queue it is for (null: every queue)."""
    async with uow:
        return await workspace.canned_responses(uow)
