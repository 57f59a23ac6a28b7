"""Customer contact: a message or a call opens a conversation, reopens one or counts in one."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from services.routing import holding, languages
from services.routing.domain import (
    Conversation,
    ConversationStatus,
    Queue,
    SeenIdentity,
)
from services.routing.settings import RoutingSettings
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.events import (
    Channel,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    event_id_for,
)

#: Interactions that can open a conversation.
OPENING_TYPES = frozenset({EventType.MESSAGE_RECEIVED, EventType.CALL_STARTED})


def opens_conversation(event: InteractionEvent) -> bool:
    """Inbound customer contact; auto-replies, bounces and statuses never open one."""
    return (
        event.direction is Direction.INBOUND and event.type in OPENING_TYPES and not event.automated
    )


def identity_of(event: InteractionEvent, at: datetime) -> SeenIdentity:
    """The sender's identity, seen at ``at``.

    An address the channel itself vouches for (the sender of an email whose DKIM or SPF
    passed, as the connector says in ``customer.verified``; the number of a call or a
    WhatsApp message) is verified and shared across channels; anything else (an email
    with a From anyone could have written, an email typed into a chat widget, a
    page-scoped id) stays within its provider.
    """
    kind, value = event.customer.kind, event.customer.id
    namespace, verified = f"{event.channel.value}:{event.provider}:{kind}", False
    if kind == "email" and event.channel is Channel.EMAIL:
        value = value.strip().lower()
        if event.customer.verified is True:
            namespace, verified = "email", True
    elif kind == "phone" and event.channel in (Channel.PHONE, Channel.SOCIAL):
        namespace, value, verified = "phone", value.strip(), True
    return SeenIdentity(
        namespace=namespace,
        value=value,
        verified=verified,
        channel=event.channel.value,
        display_name=event.customer.display_name,
        at=at,
    )


def step_id(event: InteractionEvent, step: LifecycleStep) -> uuid.UUID:
    """Steps caused by an interaction get ids derived from it, so a replay repeats them."""
    return event_id_for("routing", str(event.event_id), step)


def received_at(event: InteractionEvent, current: datetime) -> datetime:
    """When routing takes an interaction to have happened: never in the future."""
    return min(event.occurred_at, current)


async def open_many(uow: UnitOfWork, *, groups: Sequence[Sequence[InteractionEvent]]) -> None:
    """Open conversations for keys that never had a conversation, each with its customer
    messages of the batch: the first opens the conversation, all of them count."""
    if not groups:
        return
    current = utc_now()
    events = [group[0] for group in groups]
    at_of = {e.event_id: received_at(e, current) for e in events}
    identities = [identity_of(e, at_of[e.event_id]) for e in events]
    contact_ids = await uow.contacts.contacts_of_identities(identities)
    # "Hi" tells no language: a later message of the batch may.
    group_languages = [languages.language_of(group) for group in groups]
    chosen = await uow.queues.best_queues_for(
        list(
            dict.fromkeys(
                (e.channel.value, e.provider, language)
                for e, language in zip(events, group_languages, strict=True)
            )
        )
    )
    waiting: dict[uuid.UUID, int] = {}
    opened: list[Conversation] = []
    placed: list[Queue | None] = []
    for group, e, seen, language in zip(groups, events, identities, group_languages, strict=True):
        at = at_of[e.event_id]
        conversation = _new_conversation(
            e, contact_id=contact_ids[(seen.namespace, seen.value)], at=at
        )
        conversation.language = language
        conversation.last_inbound_at = max(received_at(m, current) for m in group)
        conversation.inbound_count = len(group)
        queue = await _room_in(uow, chosen[(e.channel.value, e.provider, language)], waiting)
        if queue is not None:
            conversation.apply(queue.placement(at))
        opened.append(conversation)
        placed.append(queue)
    inserted = await uow.conversations.add_many(opened)
    for e, conversation, queue in zip(events, opened, placed, strict=True):
        if conversation.id not in inserted:
            continue
        _announce_opened(uow, conversation, e)
        if queue is not None:
            conversation.queue_name = queue.name
            uow.steps.add(
                LifecycleStep.QUEUED,
                at=at_of[e.event_id],
                conversation=conversation,
                queue_schedule=queue.schedule,
            )


async def _room_in(
    uow: UnitOfWork, queue: Queue | None, waiting: dict[uuid.UUID, int]
) -> Queue | None:
    """The queue a newcomer waits in: ``queue``, or its overflow queue when it is full (None:
    unplaced); ``waiting`` counts the conversations each queue holds, placed ones included."""
    if queue is None or queue.max_waiting is None:
        return _counted(queue, waiting)
    if queue.id not in waiting:
        waiting[queue.id] = await uow.queues.waiting_count(queue.id)
    if waiting[queue.id] < queue.max_waiting:
        return _counted(queue, waiting)
    overflow_id = queue.overflow_queue_id
    overflow = await uow.queues.get(overflow_id) if overflow_id else None
    return _counted(overflow, waiting)


def _counted(queue: Queue | None, waiting: dict[uuid.UUID, int]) -> Queue | None:
    if queue is not None and queue.id in waiting:
        waiting[queue.id] += 1
    return queue


async def customer_contact(
    uow: UnitOfWork, *, settings: RoutingSettings, event: InteractionEvent
) -> None:
    """One message or call of a customer: counted in their open conversation, or reopening
    the one closed within the reopen window, or opening a new one."""
    at = min(event.occurred_at, utc_now())
    current = await uow.conversations.lock_open_by_key(event.conversation_key)
    if current is not None:
        await _attach(uow, current, at=at)
        await languages.adopt_language(uow, current, events=[event], at=at)
        return
    closed = await uow.conversations.lock_latest_closed_by_key(event.conversation_key)
    window = timedelta(seconds=settings.reopen_window_s)
    closed_at = closed.resolved_at if closed is not None else None
    if closed is not None and closed_at is not None and at - closed_at <= window:
        await _reopen(uow, closed, event=event, at=at)
        return
    await _open(uow, event=event, at=at)


async def _attach(uow: UnitOfWork, current: Conversation, *, at: datetime) -> None:
    await _count_inbound(uow, current, count=1, at=at)
    await uow.conversations.save_inbound([current])


async def attach_many(uow: UnitOfWork, *, groups: dict[str, list[InteractionEvent]]) -> set[str]:
    """Count customer messages in their open conversations, a batch's in two statements;
    the keys that had an open conversation (the others go through :func:`customer_contact`)."""
    if not groups:
        return set()
    current = utc_now()
    counted = await uow.conversations.lock_open_by_keys(list(groups))
    for conversation in counted:
        group = groups[conversation.conversation_key]
        at = max(received_at(event, current) for event in group)
        await _count_inbound(uow, conversation, count=len(group), at=at)
    await uow.conversations.save_inbound(counted)
    for conversation in counted:
        await languages.adopt_language(
            uow, conversation, events=groups[conversation.conversation_key], at=current
        )
    return {conversation.conversation_key for conversation in counted}


async def _count_inbound(
    uow: UnitOfWork, conversation: Conversation, *, count: int, at: datetime
) -> None:
    """Count ``count`` more customer messages, the last at ``at``, in a conversation (not
    written yet): its counts, and the reply now due from the agent who holds it."""
    reply_due_at = conversation.reply_due_at
    if conversation.status == ConversationStatus.ASSIGNED and reply_due_at is None:
        queue = await uow.queues.get(conversation.queue_id) if conversation.queue_id else None
        if queue is not None and queue.reply_timeout_seconds is not None:
            reply_due_at = utc_now() + timedelta(seconds=queue.reply_timeout_seconds)
    conversation.apply(
        {
            "inbound_count": conversation.inbound_count + count,
            "last_inbound_at": max(conversation.last_inbound_at, at),
            "reply_due_at": reply_due_at,
        }
    )


async def _open(uow: UnitOfWork, *, event: InteractionEvent, at: datetime) -> None:
    contact_id = await uow.contacts.contact_of_identity(identity_of(event, at))
    conversation = _new_conversation(event, contact_id=contact_id, at=at)
    if not await uow.conversations.add(conversation):
        return
    _announce_opened(uow, conversation, event)
    await holding.place(uow, conversation=conversation, at=at)


def _new_conversation(
    event: InteractionEvent, *, contact_id: uuid.UUID, at: datetime
) -> Conversation:
    """The conversation ``event`` opens at ``at``: queued, not yet in a queue."""
    return Conversation(
        id=uuid.uuid4(),
        conversation_key=event.conversation_key,
        channel=event.channel.value,
        provider=event.provider,
        customer_id=event.customer.id,
        customer_kind=event.customer.kind,
        contact_id=contact_id,
        language=event.content.language if event.content else None,
        status=ConversationStatus.QUEUED,
        opened_at=at,
        cycle_started_at=at,
        last_inbound_at=at,
    )


def _announce_opened(uow: UnitOfWork, conversation: Conversation, event: InteractionEvent) -> None:
    conversation.queue_name = None
    uow.openings.append(conversation)
    uow.steps.add(
        LifecycleStep.OPENED,
        at=event.occurred_at,
        conversation=conversation,
        cause_event_id=event.event_id,
        event_id=step_id(event, LifecycleStep.OPENED),
    )


async def _reopen(
    uow: UnitOfWork,
    closed: Conversation,
    *,
    event: InteractionEvent,
    at: datetime,
) -> None:
    await uow.conversations.update(
        closed,
        status=ConversationStatus.QUEUED,
        cycle_started_at=at,
        last_inbound_at=at,
        inbound_count=closed.inbound_count + 1,
        reopen_count=closed.reopen_count + 1,
        accepted_at=None,
        resolved_at=None,
    )
    uow.openings.append(closed)
    uow.steps.add(
        LifecycleStep.REOPENED,
        at=event.occurred_at,
        conversation=closed,
        cause_event_id=event.event_id,
        event_id=step_id(event, LifecycleStep.REOPENED),
    )
    await holding.place(uow, conversation=closed, at=at)
