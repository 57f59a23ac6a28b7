"""Labels: the list an admin manages, and the labels agents put on conversations.

A change of a conversation's labels is the lifecycle step ``conversation.labeled``, carrying
the whole set after the change (never a delta), written to the outbox in the same
transaction. Setting the labels a conversation already has changes and publishes nothing.
"""

import uuid

from services.routing.domain import Conversation, Label
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.errors import BadRequest, Conflict, NotFound
from shared.events import LifecycleStep

#: Labels one conversation may carry at once.
MAX_LABELS = 20


async def create_label(uow: UnitOfWork, *, name: str, description: str | None) -> Label:
    """A new label (409 if the name is taken, retired or not)."""
    created = await uow.labels.add(name=name, description=description, at=utc_now())
    if created is None:
        raise Conflict(f"a label named {name!r} already exists")
    return created


async def list_labels(uow: UnitOfWork, *, retired: bool = True) -> list[Label]:
    return await uow.labels.list_all(retired=retired)


async def update_label(
    uow: UnitOfWork, *, name: str, description: str | None, retired: bool | None
) -> Label:
    """Change a label's description, or retire it (``retired``) and bring it back."""
    found = await uow.labels.get(name)
    if found is None:
        raise NotFound("no such label")
    changes: dict[str, object] = {}
    if description is not None:
        changes["description"] = description
    if retired is not None and retired != (found.retired_at is not None):
        changes["retired_at"] = utc_now() if retired else None
    if not changes:
        return found
    updated = await uow.labels.update(name, **changes)
    assert updated is not None
    return updated


async def remove_label(uow: UnitOfWork, *, name: str) -> Label | None:
    """Delete a label no conversation carries (None); retire one in use, which conversations
    keep and none can newly get (the retired label)."""
    found = await uow.labels.get(name)
    if found is None:
        raise NotFound("no such label")
    if not await uow.labels.in_use(name):
        await uow.labels.delete(name)
        return None
    if found.retired_at is not None:
        return found
    retired = await uow.labels.update(name, retired_at=utc_now())
    assert retired is not None
    return retired


def _sees(conversation: Conversation, agent_id: uuid.UUID) -> bool:
    """The agent holds the conversation (offered or assigned), or held it last and nobody
    has since: they may label it, also after resolving it."""
    holder = conversation.agent_id
    return holder == agent_id or (holder is None and conversation.last_agent_id == agent_id)


async def set_labels(
    uow: UnitOfWork,
    *,
    conversation_id: uuid.UUID,
    labels: list[str],
    agent_id: uuid.UUID | None,
    any_conversation: bool = False,
) -> list[str]:
    """Make ``labels`` the conversation's whole label set; its labels after the change.

    ``agent_id`` labels only what they hold (``any_conversation``: a supervisor, or the admin
    when ``agent_id`` is None, labels any conversation). A label must be on the list and not
    retired, unless the conversation carries it already.
    """
    conversation = await uow.conversations.lock(conversation_id)
    if conversation is None:
        raise NotFound("no such conversation")
    if not any_conversation and (agent_id is None or not _sees(conversation, agent_id)):
        raise NotFound("no such conversation")
    wanted = set(labels)
    if len(wanted) > MAX_LABELS:
        raise BadRequest(f"a conversation carries at most {MAX_LABELS} labels")
    current = set(await uow.labels.of_conversation(conversation_id))
    if wanted == current:
        return sorted(current)
    added = wanted - current
    known = await uow.labels.named(added)
    unknown = sorted(name for name in added if name not in known)
    if unknown:
        raise BadRequest("no such label", detail=unknown)
    retired = sorted(name for name in added if known[name].retired_at is not None)
    if retired:
        raise BadRequest("these labels are retired", detail=retired)
    at = utc_now()
    await uow.labels.set_for(
        conversation_id, removed=current - wanted, added=added, by=agent_id, at=at
    )
    after = sorted(wanted)
    uow.steps.add(
        LifecycleStep.LABELED, at=at, conversation=conversation, agent_id=agent_id, labels=after
    )
    return after


async def labels_of(uow: UnitOfWork, *, conversation_id: uuid.UUID) -> list[str]:
    if await uow.conversations.get(conversation_id) is None:
        raise NotFound("no such conversation")
    return await uow.labels.of_conversation(conversation_id)
