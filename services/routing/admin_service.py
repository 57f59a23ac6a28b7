"""What an admin does: agents, queues, contacts, and the queue overview."""

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.routing.agent_service import token_hash
from services.routing.lifecycle import Steps
from services.routing.repository import agents, contacts, queues
from shared.errors import BadRequest, Conflict, NotFound
from shared.events import LifecycleStep

Row = dict[str, Any]

#: Conversations an agent can hold at once on each channel, unless configured.
DEFAULT_CAPACITY = {"phone": 1, "chat": 3, "social": 5, "email": 5}


def now() -> datetime:
    return datetime.now(UTC)


async def create_agent(
    session: AsyncSession,
    steps: Steps,
    *,
    name: str,
    skills: list[str],
    languages: list[str],
    capacity: dict[str, int],
    status: str,
) -> tuple[Row, str]:
    """A new agent and their bearer token (shown once; only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    at = now()
    agent = await agents.insert_agent(
        session,
        {
            "id": uuid.uuid4(),
            "name": name,
            "skills": sorted(set(skills)),
            "languages": sorted(set(languages)),
            "capacity": {**DEFAULT_CAPACITY, **capacity},
            "status": status,
            "status_changed_at": at,
            "last_idle_at": at,
            "consecutive_timeouts": 0,
            "token_hash": token_hash(token),
            "created_at": at,
        },
    )
    # Metrics time agents' statuses from their first one on.
    steps.add(LifecycleStep.AGENT_STATUS_CHANGED, at=at, agent_id=agent["id"], agent_status=status)
    return agent, token


async def update_agent(
    session: AsyncSession, *, agent_id: uuid.UUID, changes: dict[str, Any]
) -> Row:
    """Change an agent's name, skills, languages or capacity."""
    agent = await agents.lock_agent(session, agent_id)
    if agent is None:
        raise NotFound("no such agent")
    if not changes:
        return agent
    if "capacity" in changes:
        changes["capacity"] = {**agent["capacity"], **changes["capacity"]}
    for listed in ("skills", "languages"):
        if listed in changes:
            changes[listed] = sorted(set(changes[listed]))
    return await agents.update_agent(session, agent_id, changes)


async def get_agent(session: AsyncSession, *, agent_id: uuid.UUID) -> Row:
    agent = await agents.agent_by_id(session, agent_id)
    if agent is None:
        raise NotFound("no such agent")
    return agent


async def list_agents(session: AsyncSession) -> list[Row]:
    return await agents.all_agents(session)


async def skills_in_use(session: AsyncSession) -> list[str]:
    """Every skill an agent has or a queue asks for."""
    found: set[str] = set()
    for agent in await agents.all_agents(session):
        found.update(agent["skills"])
    for queue in await queues.all_queues(session):
        found.update(queue["required_skills"], queue["optional_skills"])
    return sorted(found)


async def _resolve_overflow(session: AsyncSession, values: dict[str, Any]) -> None:
    name = values.pop("overflow_queue", None)
    if name is None:
        return
    target = await queues.queue_by_name(session, name)
    if target is None:
        raise BadRequest(f"overflow queue {name!r} does not exist")
    values["overflow_queue_id"] = target["id"]


async def create_queue(session: AsyncSession, *, values: dict[str, Any]) -> Row:
    values = dict(values)
    await _resolve_overflow(session, values)
    queue = await queues.insert_queue(session, {"id": uuid.uuid4(), "created_at": now(), **values})
    if queue is None:
        raise Conflict(f"a queue named {values['name']!r} already exists")
    return queue


async def update_queue(session: AsyncSession, *, name: str, changes: dict[str, Any]) -> Row:
    queue = await queues.queue_by_name(session, name)
    if queue is None:
        raise NotFound("no such queue")
    changes = dict(changes)
    await _resolve_overflow(session, changes)
    if changes.get("overflow_queue_id") == queue["id"]:
        raise BadRequest("a queue cannot overflow into itself")
    return await queues.update_queue(session, queue["id"], changes) if changes else queue


async def list_queues(session: AsyncSession) -> list[Row]:
    return await queues.all_queues(session)


async def get_queue(session: AsyncSession, *, name: str) -> Row:
    queue = await queues.queue_by_name(session, name)
    if queue is None:
        raise NotFound("no such queue")
    return queue


async def overview(session: AsyncSession) -> dict[str, Any]:
    """Waiting and longest wait per queue, and how many agents are in each status."""
    return {
        "queues": await queues.overview(session, now()),
        "unplaced": await queues.unplaced_count(session),
        "agents_by_status": await agents.count_by_status(session),
    }


async def get_contact(session: AsyncSession, *, contact_id: uuid.UUID) -> Row:
    contact = await contacts.get_contact(session, contact_id)
    if contact is None:
        raise NotFound("no such contact")
    return {
        **contact,
        "identities": await contacts.identities_of(session, contact_id),
        "conversations": await contacts.conversation_count(session, contact_id),
    }


async def merge_contacts(
    session: AsyncSession, *, source_id: uuid.UUID, target_id: uuid.UUID
) -> Row:
    """Fold ``source`` into ``target``: its identities and conversations move over."""
    if source_id == target_id:
        raise BadRequest("cannot merge a contact into itself")
    locked = await contacts.lock_contacts(session, [source_id, target_id])
    if len(locked) != 2:
        raise NotFound("no such contact")
    await contacts.merge(session, source=source_id, target=target_id)
    return await get_contact(session, contact_id=target_id)


async def split_contact(
    session: AsyncSession, *, contact_id: uuid.UUID, identity_ids: list[uuid.UUID]
) -> Row:
    """Move some identities (and their conversations) of a contact to a new contact."""
    if not await contacts.lock_contacts(session, [contact_id]):
        raise NotFound("no such contact")
    owned = {i["id"] for i in await contacts.identities_of(session, contact_id)}
    unknown = [str(i) for i in identity_ids if i not in owned]
    if unknown:
        raise BadRequest("identities do not belong to this contact", detail=unknown)
    if set(identity_ids) >= owned:
        raise BadRequest("a split must leave the contact at least one identity")
    new_id = await contacts.split(session, source=contact_id, identity_ids=identity_ids, at=now())
    return await get_contact(session, contact_id=new_id)
