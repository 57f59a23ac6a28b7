"""What the console reads and does beyond the agent API: the agent's workspace, colleagues
to transfer to, internal notes, and canned responses (which an admin manages)."""

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from services.routing.console.domain import (
    CannedResponse,
    Colleague,
    ConversationCard,
    OfferCard,
)
from services.routing.domain import INTERNAL, Agent, Author, Conversation, Message
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.errors import NotFound


@dataclass(frozen=True)
class Workspace:
    """Everything the agent view shows at first: me, my offers, my conversations."""

    me: Agent
    offers: list[OfferCard]
    conversations: list[ConversationCard]
    server_time: datetime


@dataclass(frozen=True)
class Directory:
    """Where a conversation can be transferred: other agents and the queues."""

    agents: list[Colleague]
    queues: list[str]


async def workspace(uow: UnitOfWork, *, agent: Agent) -> Workspace:
    cards = await uow.console.conversation_cards(agent.id)
    labels = await uow.labels.of_conversations(c.id for c in cards)
    return Workspace(
        me=agent,
        offers=await uow.console.offer_cards(agent.id),
        conversations=[replace(c, labels=labels.get(c.id, [])) for c in cards],
        server_time=utc_now(),
    )


async def directory(uow: UnitOfWork, *, agent_id: uuid.UUID) -> Directory:
    colleagues = [c for c in await uow.console.colleagues() if c.id != agent_id]
    return Directory(agents=colleagues, queues=[q.name for q in await uow.queues.list_all()])


def _sees(conversation: Conversation, agent_id: uuid.UUID) -> bool:
    """Who may read a transcript may write notes in it: the agent who holds the conversation
    (offered or assigned), or held it last while nobody holds it."""
    holder = conversation.agent_id
    return holder == agent_id or (holder is None and conversation.last_agent_id == agent_id)


async def add_note(
    uow: UnitOfWork, *, agent_id: uuid.UUID, conversation_id: uuid.UUID, text: str
) -> Message:
    """Keep an internal note in the conversation's transcript. It is published nowhere: the
    customer never gets it and metrics never count it as a reply."""
    conversation = await uow.conversations.get(conversation_id)
    if conversation is None or not _sees(conversation, agent_id):
        raise NotFound("no such conversation")
    note_id = uuid.uuid4()
    (note,) = await uow.messages.add_many(
        [
            Message(
                id=note_id,
                conversation_id=conversation_id,
                conversation_key=conversation.conversation_key,
                event_id=note_id,
                direction=INTERNAL,
                author=Author.NOTE,
                agent_id=agent_id,
                at=utc_now(),
                text=text,
            )
        ]
    )
    holder = conversation.agent_id
    if holder is not None and holder != agent_id:
        uow.steps.notify(
            holder,
            "note.created",
            conversation_id=str(conversation_id),
            message_id=str(note_id),
            seq=str(note.seq),
        )
    return note


async def canned_responses(uow: UnitOfWork, *, queue: str | None = None) -> list[CannedResponse]:
    """Every canned response, or those of one queue and those of every queue."""
    if queue is None:
        return await uow.canned.list_all()
    found = await uow.queues.named(queue)
    if found is None:
        raise NotFound("no such queue")
    return await uow.canned.list_all(queue_id=found.id)


async def _queue_id(uow: UnitOfWork, name: str | None) -> uuid.UUID | None:
    if name is None:
        return None
    found = await uow.queues.named(name)
    if found is None:
        raise NotFound("no such queue")
    return found.id


async def create_canned(
    uow: UnitOfWork, *, queue: str | None, shortcut: str, text: str
) -> CannedResponse:
    """A canned response for one queue's conversations, or every queue's (``queue`` None)."""
    canned_id = uuid.uuid4()
    await uow.canned.add(
        id=canned_id,
        queue_id=await _queue_id(uow, queue),
        shortcut=shortcut,
        text=text,
        at=utc_now(),
    )
    created = await uow.canned.get(canned_id)
    assert created is not None
    return created


async def update_canned(
    uow: UnitOfWork, *, canned_id: uuid.UUID, changes: dict[str, str | None]
) -> CannedResponse:
    """Change a canned response's queue (by name; None: every queue), shortcut or text."""
    values: dict[str, object] = {k: v for k, v in changes.items() if k != "queue"}
    if "queue" in changes:
        values["queue_id"] = await _queue_id(uow, changes["queue"])
    if not await uow.canned.update(canned_id, at=utc_now(), **values):
        raise NotFound("no such canned response")
    updated = await uow.canned.get(canned_id)
    assert updated is not None
    return updated


async def delete_canned(uow: UnitOfWork, *, canned_id: uuid.UUID) -> None:
    if not await uow.canned.delete(canned_id):
        raise NotFound("no such canned response")
