"""What an admin does: agents, queues, contacts, and the queue overview."""

import uuid

from services.routing import access
from services.routing.domain import (
    Agent,
    AgentChanges,
    AgentStatus,
    ContactCard,
    Message,
    Overview,
    Queue,
    QueueRules,
)
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.errors import BadRequest, Conflict, NotFound
from shared.events import LifecycleStep, Role

#: Conversations an agent can hold at once on each channel, unless configured.
DEFAULT_CAPACITY = {"phone": 1, "chat": 3, "social": 5, "email": 5}


async def create_agent(
    uow: UnitOfWork,
    *,
    name: str,
    skills: list[str],
    languages: list[str],
    capacity: dict[str, int],
    status: AgentStatus,
    phone_address: str | None = None,
    role: Role = Role.AGENT,
) -> tuple[Agent, str]:
    """A new agent and their first bearer token (shown once; only its hash is kept)."""
    at = utc_now()
    agent = Agent(
        id=uuid.uuid4(),
        name=name,
        skills=sorted(set(skills)),
        languages=sorted(set(languages)),
        capacity={**DEFAULT_CAPACITY, **capacity},
        status=status,
        status_changed_at=at,
        last_idle_at=at,
        consecutive_timeouts=0,
        created_at=at,
        phone_address=phone_address,
        role=role,
    )
    await uow.agents.add(agent)
    _, token = await access.issue_agent_token(uow, agent=agent, name="first token")
    # Metrics time agents' statuses from their first one on.
    uow.steps.add(LifecycleStep.AGENT_STATUS_CHANGED, at=at, agent_id=agent.id, agent_status=status)
    uow.touch(agent.id, at)
    return agent, token


async def update_agent(uow: UnitOfWork, *, agent_id: uuid.UUID, changes: AgentChanges) -> Agent:
    """Change an agent's name, role, skills, languages or capacity."""
    agent = await uow.agents.lock(agent_id)
    if agent is None:
        raise NotFound("no such agent")
    if not changes:
        return agent
    if "capacity" in changes:
        changes["capacity"] = {**agent.capacity, **changes["capacity"]}
    if "skills" in changes:
        changes["skills"] = sorted(set(changes["skills"]))
    if "languages" in changes:
        changes["languages"] = sorted(set(changes["languages"]))
    updated = await uow.agents.update(agent_id, **changes)
    if "capacity" in changes:
        # A channel with no room any more is no time available on it.
        uow.touch(agent_id, utc_now())
    if updated.role != agent.role:
        # Other services learn the new role with the agent's tokens.
        await access.republish_for(uow, agent=updated)
    return updated


async def get_agent(uow: UnitOfWork, *, agent_id: uuid.UUID) -> Agent:
    agent = await uow.agents.get(agent_id)
    if agent is None:
        raise NotFound("no such agent")
    return agent


async def list_agents(uow: UnitOfWork) -> list[Agent]:
    return await uow.agents.list_all()


async def skills_in_use(uow: UnitOfWork) -> list[str]:
    """Every skill an agent has or a queue asks for."""
    found: set[str] = set()
    for agent in await uow.agents.list_all():
        found.update(agent.skills)
    for queue in await uow.queues.list_all():
        found.update(queue.required_skills, queue.optional_skills)
    return sorted(found)


async def _overflow_queue_id(uow: UnitOfWork, name: str) -> uuid.UUID:
    target = await uow.queues.named(name)
    if target is None:
        raise BadRequest(f"overflow queue {name!r} does not exist")
    return target.id


async def create_queue(
    uow: UnitOfWork,
    *,
    name: str,
    channel: str,
    overflow_queue: str | None,
    rules: QueueRules,
) -> Queue:
    """A new queue with every rule of ``rules``; ``overflow_queue`` names another queue."""
    overflow_queue_id = None
    if overflow_queue is not None:
        overflow_queue_id = await _overflow_queue_id(uow, overflow_queue)
    queue = await uow.queues.add(
        Queue(
            id=uuid.uuid4(),
            name=name,
            channel=channel,
            providers=rules["providers"],
            language=rules["language"],
            required_skills=rules["required_skills"],
            optional_skills=rules["optional_skills"],
            priority=rules["priority"],
            sla_seconds=rules["sla_seconds"],
            overflow_seconds=rules["overflow_seconds"],
            overflow_queue_id=overflow_queue_id,
            max_waiting=rules["max_waiting"],
            offer_timeout_seconds=rules["offer_timeout_seconds"],
            reply_timeout_seconds=rules["reply_timeout_seconds"],
            on_agent_offline=rules["on_agent_offline"],
            created_at=utc_now(),
            wrap_up_seconds=rules.get("wrap_up_seconds"),
            schedule=rules.get("schedule"),
            closed_message=rules.get("closed_message"),
            survey_kind=rules.get("survey_kind"),
            survey_message=rules.get("survey_message"),
        ),
    )
    if queue is None:
        raise Conflict(f"a queue named {name!r} already exists")
    return queue


async def update_queue(
    uow: UnitOfWork, *, name: str, overflow_queue: str | None, changes: QueueRules
) -> Queue:
    """Change some of a queue's rules; ``overflow_queue`` names its new overflow queue."""
    queue = await uow.queues.named(name)
    if queue is None:
        raise NotFound("no such queue")
    changes = changes.copy()
    if overflow_queue is not None:
        changes["overflow_queue_id"] = await _overflow_queue_id(uow, overflow_queue)
    if changes.get("overflow_queue_id") == queue.id:
        raise BadRequest("a queue cannot overflow into itself")
    return await uow.queues.update(queue.id, **changes) if changes else queue


async def list_queues(uow: UnitOfWork) -> list[Queue]:
    return await uow.queues.list_all()


async def get_queue(uow: UnitOfWork, *, name: str) -> Queue:
    queue = await uow.queues.named(name)
    if queue is None:
        raise NotFound("no such queue")
    return queue


async def overview(uow: UnitOfWork) -> Overview:
    """Waiting and longest wait per queue, and how many agents are in each status."""
    return Overview(
        queues=await uow.queues.overview(utc_now()),
        unplaced=await uow.queues.unplaced_count(),
        agents_by_status=await uow.agents.count_by_status(),
    )


async def get_contact(uow: UnitOfWork, *, contact_id: uuid.UUID) -> ContactCard:
    contact = await uow.contacts.get(contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return ContactCard(
        id=contact.id,
        display_name=contact.display_name,
        last_agent_id=contact.last_agent_id,
        identities=await uow.contacts.identities_of(contact_id),
        conversations=await uow.contacts.conversation_count(contact_id),
    )


async def merge_contacts(
    uow: UnitOfWork, *, source_id: uuid.UUID, target_id: uuid.UUID
) -> ContactCard:
    """Fold ``source`` into ``target``: its identities and conversations move over."""
    if source_id == target_id:
        raise BadRequest("cannot merge a contact into itself")
    locked = await uow.contacts.lock_many([source_id, target_id])
    if len(locked) != 2:
        raise NotFound("no such contact")
    await uow.contacts.merge(source=source_id, target=target_id)
    await uow.customers.move_to(source=source_id, target=target_id)
    uow.steps.add(
        LifecycleStep.CONTACT_MERGED,
        at=utc_now(),
        contact_id=target_id,
        merged_contact_id=source_id,
    )
    return await get_contact(uow, contact_id=target_id)


async def split_contact(
    uow: UnitOfWork, *, contact_id: uuid.UUID, identity_ids: list[uuid.UUID]
) -> ContactCard:
    """Move some identities (and their conversations) of a contact to a new contact."""
    if not await uow.contacts.lock_many([contact_id]):
        raise NotFound("no such contact")
    owned = {i.id for i in await uow.contacts.identities_of(contact_id)}
    unknown = [str(i) for i in identity_ids if i not in owned]
    if unknown:
        raise BadRequest("identities do not belong to this contact", detail=unknown)
    if set(identity_ids) >= owned:
        raise BadRequest("a split must leave the contact at least one identity")
    at = utc_now()
    new_id, moved = await uow.contacts.split(source=contact_id, identity_ids=identity_ids, at=at)
    for conversation_id in moved:
        conversation = await uow.conversations.get(conversation_id)
        if conversation is not None:
            uow.steps.add(LifecycleStep.CONTACT_CHANGED, at=at, conversation=conversation)
    return await get_contact(uow, contact_id=new_id)


async def transcript(
    uow: UnitOfWork, *, conversation_id: uuid.UUID, after: int, limit: int
) -> list[Message]:
    """A page of a conversation's transcript."""
    if await uow.conversations.get(conversation_id) is None:
        raise NotFound("no such conversation")
    return await uow.messages.page(conversation_id, after=after, limit=limit)
