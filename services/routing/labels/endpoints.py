"""The label endpoints: the list (admin), labeling by agents, supervisors and the admin."""

import uuid
from typing import Any

from fastapi import APIRouter, Response

from services.routing.deps import AdminDep, AgentDep, SupervisorDep, UnitOfWorkDep
from services.routing.labels import service
from services.routing.labels.schemas import (
    ConversationLabels,
    LabelCreate,
    LabelOut,
    LabelsBody,
    LabelUpdate,
)

admin = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])
agent = APIRouter(prefix="/agent", tags=["agent"])
supervisor = APIRouter(prefix="/supervisor", tags=["supervisor"])


@admin.post("/labels", response_model=LabelOut, status_code=201)
async def create_label(body: LabelCreate, uow: UnitOfWorkDep) -> Any:
    """Add a label to the list (409 if the name is taken)."""
    return await uow.run(service.create_label, name=body.name, description=body.description)


@admin.get("/labels", response_model=list[LabelOut])
async def list_labels(uow: UnitOfWorkDep) -> Any:
    """Every label, retired ones included."""
    async with uow:
        return await service.list_labels(uow)


@admin.patch("/labels/{name}", response_model=LabelOut)
async def update_label(name: str, body: LabelUpdate, uow: UnitOfWorkDep) -> Any:
    """Change a label's description, retire it or bring it back."""
    return await uow.run(
        service.update_label, name=name, description=body.description, retired=body.retired
    )


@admin.delete("/labels/{name}", response_model=LabelOut, responses={204: {}})
async def delete_label(name: str, uow: UnitOfWorkDep) -> Any:
    """Delete a label no conversation carries (204); one in use is retired instead (200):
    conversations keep it, none can newly get it."""
    retired = await uow.run(service.remove_label, name=name)
    return Response(status_code=204) if retired is None else retired


@agent.get("/labels", response_model=list[LabelOut])
async def labels_to_use(uow: UnitOfWorkDep, _: AgentDep) -> Any:
    """The labels I can put on a conversation (retired ones left out)."""
    async with uow:
        return await service.list_labels(uow, retired=False)


@agent.put("/conversations/{conversation_id}/labels", response_model=ConversationLabels)
async def label_my_conversation(
    conversation_id: uuid.UUID, body: LabelsBody, uow: UnitOfWorkDep, me: AgentDep
) -> ConversationLabels:
    """Set the labels of a conversation I hold or last held (the whole set; 404 if not mine,
    400 naming labels not on the list); setting the same set again publishes nothing."""
    labels = await uow.run(
        service.set_labels, conversation_id=conversation_id, labels=body.labels, agent_id=me.id
    )
    return ConversationLabels(conversation_id=conversation_id, labels=labels)


@supervisor.put("/conversations/{conversation_id}/labels", response_model=ConversationLabels)
async def label_any_conversation(
    conversation_id: uuid.UUID,
    body: LabelsBody,
    uow: UnitOfWorkDep,
    who: SupervisorDep,
) -> ConversationLabels:
    """Set the labels of any conversation (supervisor or admin)."""
    labels = await uow.run(
        service.set_labels,
        conversation_id=conversation_id,
        labels=body.labels,
        agent_id=who.agent_id,
        any_conversation=True,
    )
    return ConversationLabels(conversation_id=conversation_id, labels=labels)


@supervisor.get("/conversations/{conversation_id}/labels", response_model=ConversationLabels)
async def labels_of(
    conversation_id: uuid.UUID, uow: UnitOfWorkDep, _: SupervisorDep
) -> ConversationLabels:
    """The labels a conversation carries (supervisor or admin)."""
    async with uow:
        labels = await service.labels_of(uow, conversation_id=conversation_id)
    return ConversationLabels(conversation_id=conversation_id, labels=labels)
