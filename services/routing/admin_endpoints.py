"""The admin API: agents, queues, skills, contacts and the queue overview."""

import uuid
from typing import Any, cast

from fastapi import APIRouter

from services.routing import access, admin_service, erasure, presence
from services.routing.deps import AdminDep, SettingsDep, UnitOfWorkDep
from services.routing.domain import AgentChanges, AgentStatus, QueueRules
from services.routing.schemas import (
    DEFAULT_PAGE,
    AfterQuery,
    AgentCreate,
    AgentCreated,
    AgentOut,
    AgentTokenCreate,
    AgentUpdate,
    ContactOut,
    ErasureOut,
    LimitQuery,
    MachineTokenCreate,
    MergeBody,
    MessagePage,
    Overview,
    QueueCreate,
    QueueOut,
    QueueUpdate,
    SplitBody,
    StatusChange,
    TokenCreated,
    TokenOut,
    message_page,
)
from shared.clock import utc_now
from shared.events import Role

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


@router.post("/agents", response_model=AgentCreated, status_code=201)
async def create_agent(body: AgentCreate, uow: UnitOfWorkDep) -> AgentCreated:
    """Create an agent; the answer carries the agent's bearer token, shown only once."""
    agent, token = await uow.run(
        admin_service.create_agent,
        name=body.name,
        skills=body.skills,
        languages=body.languages,
        capacity={k.value: v for k, v in body.capacity.items()},
        status=AgentStatus(body.status),
        phone_address=body.phone_address,
        role=Role(body.role),
    )
    return AgentCreated(agent=AgentOut.model_validate(agent), token=token)


@router.get("/agents", response_model=list[AgentOut])
async def list_agents(uow: UnitOfWorkDep) -> Any:
    """Every agent."""
    async with uow:
        return await admin_service.list_agents(uow)


@router.get("/agents/{agent_id}", response_model=AgentOut)
async def get_agent(agent_id: uuid.UUID, uow: UnitOfWorkDep) -> Any:
    """One agent."""
    async with uow:
        return await admin_service.get_agent(uow, agent_id=agent_id)


@router.patch("/agents/{agent_id}", response_model=AgentOut)
async def update_agent(agent_id: uuid.UUID, body: AgentUpdate, uow: UnitOfWorkDep) -> Any:
    """Change an agent's name, role, skills, languages or capacity."""
    # The body's fields are the agent's: what was sent is what changes.
    changes = cast(AgentChanges, body.model_dump(exclude_unset=True))
    if "role" in changes and changes["role"] is None:
        del changes["role"]  # an agent always has a role
    if body.capacity is not None:
        changes["capacity"] = {k.value: v for k, v in body.capacity.items()}
    return await uow.run(admin_service.update_agent, agent_id=agent_id, changes=changes)


@router.post("/agents/{agent_id}/tokens", response_model=TokenCreated, status_code=201)
async def issue_agent_token(
    agent_id: uuid.UUID, body: AgentTokenCreate, uow: UnitOfWorkDep
) -> TokenCreated:
    """A new token for the agent, shown once; with `revoke_others` a rotation."""
    held, token = await uow.run(
        access.issue_agent_token_by_id,
        agent_id=agent_id,
        name=body.name,
        valid_for_s=body.valid_for_s,
        revoke_others=body.revoke_others,
    )
    return TokenCreated(credential=TokenOut.model_validate(held), token=token)


@router.post("/tokens", response_model=TokenCreated, status_code=201)
async def issue_machine_token(body: MachineTokenCreate, uow: UnitOfWorkDep) -> TokenCreated:
    """A token for a machine: `service` (another system) or `wall` (a read-only screen)."""
    held, token = await uow.run(
        access.issue_machine_token,
        role=Role(body.role),
        name=body.name,
        valid_for_s=body.valid_for_s,
    )
    return TokenCreated(credential=TokenOut.model_validate(held), token=token)


@router.get("/tokens", response_model=list[TokenOut])
async def list_tokens(uow: UnitOfWorkDep, agent_id: uuid.UUID | None = None) -> Any:
    """Every token's record (never the token), or one agent's."""
    async with uow:
        return await access.list_tokens(uow, agent_id=agent_id)


@router.delete("/tokens/{credential_id}", response_model=TokenOut)
async def revoke_token(credential_id: uuid.UUID, uow: UnitOfWorkDep) -> Any:
    """Revoke a token at once, here and in every service that checks it."""
    return await uow.run(access.revoke, credential_id=credential_id)


@router.put("/agents/{agent_id}/status", response_model=AgentOut)
async def set_agent_status(agent_id: uuid.UUID, body: StatusChange, uow: UnitOfWorkDep) -> Any:
    """Set an agent's status on their behalf (a supervisor sending someone offline)."""
    return await uow.run(
        presence.set_status, agent_id=agent_id, status=AgentStatus(body.status), at=utc_now()
    )


@router.get("/skills", response_model=list[str])
async def skills(uow: UnitOfWorkDep) -> list[str]:
    """Every skill an agent has or a queue asks for."""
    async with uow:
        return await admin_service.skills_in_use(uow)


@router.post("/queues", response_model=QueueOut, status_code=201)
async def create_queue(body: QueueCreate, uow: UnitOfWorkDep) -> Any:
    """Create a queue (409 if the name is taken)."""
    # The body's other fields are the queue's rules.
    rules = cast(QueueRules, body.model_dump(exclude={"name", "channel", "overflow_queue"}))
    return await uow.run(
        admin_service.create_queue,
        name=body.name,
        channel=body.channel.value,
        overflow_queue=body.overflow_queue,
        rules=rules,
    )


@router.get("/queues", response_model=list[QueueOut])
async def list_queues(uow: UnitOfWorkDep) -> Any:
    """Every queue."""
    async with uow:
        return await admin_service.list_queues(uow)


@router.get("/queues/{name}", response_model=QueueOut)
async def get_queue(name: str, uow: UnitOfWorkDep) -> Any:
    """One queue."""
    async with uow:
        return await admin_service.get_queue(uow, name=name)


@router.patch("/queues/{name}", response_model=QueueOut)
async def update_queue(name: str, body: QueueUpdate, uow: UnitOfWorkDep) -> Any:
    """Change a queue's rules; conversations already waiting keep their deadlines."""
    changes = cast(QueueRules, body.model_dump(exclude_unset=True, exclude={"overflow_queue"}))
    return await uow.run(
        admin_service.update_queue, name=name, overflow_queue=body.overflow_queue, changes=changes
    )


@router.get("/overview", response_model=Overview)
async def overview(uow: UnitOfWorkDep) -> Any:
    """Per queue: waiting, offered, assigned, longest wait; agents by status."""
    async with uow:
        return await admin_service.overview(uow)


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
async def conversation_messages(
    conversation_id: uuid.UUID,
    uow: UnitOfWorkDep,
    after: AfterQuery = 0,
    limit: LimitQuery = DEFAULT_PAGE,
) -> MessagePage:
    """The messages of any conversation, oldest first, after a cursor."""
    async with uow:
        found = await admin_service.transcript(
            uow, conversation_id=conversation_id, after=after, limit=limit
        )
    return message_page(found, after=after)


@router.get("/contacts/{contact_id}", response_model=ContactOut)
async def get_contact(contact_id: uuid.UUID, uow: UnitOfWorkDep) -> Any:
    """A contact with its identities and how many conversations it has."""
    async with uow:
        return await admin_service.get_contact(uow, contact_id=contact_id)


@router.post("/contacts/merge", response_model=ContactOut)
async def merge_contacts(body: MergeBody, uow: UnitOfWorkDep) -> Any:
    """Merge the source contact into the target: identities and conversations move."""
    return await uow.run(
        admin_service.merge_contacts, source_id=body.source_id, target_id=body.target_id
    )


@router.post("/contacts/{contact_id}/split", response_model=ContactOut, status_code=201)
async def split_contact(contact_id: uuid.UUID, body: SplitBody, uow: UnitOfWorkDep) -> Any:
    """Split identities off a contact into a new one, which the answer describes."""
    return await uow.run(
        admin_service.split_contact, contact_id=contact_id, identity_ids=body.identity_ids
    )


@router.post("/contacts/{contact_id}/erase", response_model=ErasureOut, status_code=202)
async def erase_contact(contact_id: uuid.UUID, uow: UnitOfWorkDep, settings: SettingsDep) -> Any:
    """Erase a contact's personal data here and, through privacy.v1, in every service."""
    return await uow.run(erasure.erase_contact, contact_id=contact_id, settings=settings)
