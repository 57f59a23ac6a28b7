"""Routing's consumer logic: inbound interactions open, attach to, reopen and end conversations."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from services.routing import holding
from services.routing.domain import (
    Conversation,
    ConversationStatus,
    OfferState,
    Queue,
    SeenIdentity,
)
from services.routing.settings import RoutingSettings
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.events import (
    CallDisposition,
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

    An address the channel itself vouches for (the sender of an email, the number of a
    call or a WhatsApp message) is verified and shared across channels; anything else
    (an email typed into a chat widget, a page-scoped id) stays within its provider.
    """
    kind, value = event.customer.kind, event.customer.id
    namespace, verified = f"{event.channel.value}:{event.provider}:{kind}", False
    if kind == "email" and event.channel is Channel.EMAIL:
        namespace, value, verified = "email", value.strip().lower(), True
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


async def record_interactions(
    uow: UnitOfWork,
    *,
    settings: RoutingSettings,
    events: Sequence[InteractionEvent],
) -> bool:
    """Apply a batch of interactions, each at most once (by event id); whether any of them
    may have put a conversation in a queue.

    The common cases take a few statements for the whole batch: a key whose events are all
    customer messages either opens its conversation (never had one: the first message opens
    it, the others count) or adds them to its open conversation. Every other event goes
    through in order, one by one.
    """
    claimed = await _claim(uow, events)
    by_key: dict[str, list[InteractionEvent]] = {}
    for event in claimed:
        by_key.setdefault(event.conversation_key, []).append(event)
    messages_only = {
        key: group for key, group in by_key.items() if all(map(opens_conversation, group))
    }
    known = await uow.conversations.keys_with_conversations(list(messages_only))
    await _open_many(uow, groups=[g for key, g in messages_only.items() if key not in known])
    attached = await _attach_many(
        uow, groups={key: g for key, g in messages_only.items() if key in known}
    )
    done = (messages_only.keys() - known) | attached
    for event in claimed:
        if event.conversation_key in done:
            continue
        if event.type is EventType.CUSTOMER_LEFT:
            await _customer_left(uow, event=event)
        elif event.type is EventType.CALL_ENDED:
            await _call_ended(uow, event=event)
        elif opens_conversation(event):
            await _inbound(uow, settings=settings, event=event)
    return any(opens_conversation(event) for event in claimed)


def _received_at(event: InteractionEvent, current: datetime) -> datetime:
    """When routing takes an interaction to have happened: never in the future."""
    return min(event.occurred_at, current)


async def _claim(uow: UnitOfWork, events: Sequence[InteractionEvent]) -> list[InteractionEvent]:
    """The events not processed before, in order, each once; they are now recorded as processed."""
    first: dict[uuid.UUID, InteractionEvent] = {}
    for event in events:
        first.setdefault(event.event_id, event)
    if not first:
        return []
    new = await uow.claim(first)
    return [event for event_id, event in first.items() if event_id in new]


async def _open_many(uow: UnitOfWork, *, groups: Sequence[Sequence[InteractionEvent]]) -> None:
    """:func:`_open` for keys that never had a conversation, each with its customer
    messages of the batch: the first opens the conversation, all of them count."""
    if not groups:
        return
    current = utc_now()
    events = [group[0] for group in groups]
    at_of = {e.event_id: _received_at(e, current) for e in events}
    identities = [identity_of(e, at_of[e.event_id]) for e in events]
    contact_ids = await uow.contacts.contacts_of_identities(identities)
    chosen: dict[tuple[str, str, str | None], Queue | None] = {}
    waiting: dict[uuid.UUID, int] = {}
    opened: list[Conversation] = []
    placed: list[Queue | None] = []
    for group, e, seen in zip(groups, events, identities, strict=True):
        at = at_of[e.event_id]
        language = e.content.language if e.content else None
        conversation = _new_conversation(
            e, contact_id=contact_ids[(seen.namespace, seen.value)], at=at
        )
        conversation.last_inbound_at = max(_received_at(m, current) for m in group)
        conversation.inbound_count = len(group)
        target = (e.channel.value, e.provider, language)
        if target not in chosen:
            chosen[target] = await uow.queues.best_queue_for(
                channel=e.channel.value, provider=e.provider, language=language
            )
        queue = await _room_in(uow, chosen[target], waiting)
        if queue is not None:
            conversation.apply(queue.placement(at))
        opened.append(conversation)
        placed.append(queue)
    inserted = await uow.conversations.insert_conversations(opened)
    for e, conversation, queue in zip(events, opened, placed, strict=True):
        if conversation.id not in inserted:
            continue
        _announce_opened(uow, conversation, e)
        if queue is not None:
            conversation.queue_name = queue.name
            uow.steps.add(LifecycleStep.QUEUED, at=at_of[e.event_id], conversation=conversation)


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
    overflow = await uow.queues.queue_by_id(overflow_id) if overflow_id else None
    return _counted(overflow, waiting)


def _counted(queue: Queue | None, waiting: dict[uuid.UUID, int]) -> Queue | None:
    if queue is not None and queue.id in waiting:
        waiting[queue.id] += 1
    return queue


async def _inbound(uow: UnitOfWork, *, settings: RoutingSettings, event: InteractionEvent) -> None:
    at = min(event.occurred_at, utc_now())
    current = await uow.conversations.lock_open_by_key(event.conversation_key)
    if current is not None:
        await _attach(uow, current, at=at)
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


async def _attach_many(uow: UnitOfWork, *, groups: dict[str, list[InteractionEvent]]) -> set[str]:
    """Count customer messages in their open conversations, a batch's in two statements;
    the keys that had an open conversation (the others go through :func:`_inbound`)."""
    if not groups:
        return set()
    current = utc_now()
    counted = await uow.conversations.lock_open_by_keys(list(groups))
    for conversation in counted:
        group = groups[conversation.conversation_key]
        at = max(_received_at(event, current) for event in group)
        await _count_inbound(uow, conversation, count=len(group), at=at)
    await uow.conversations.save_inbound(counted)
    return {conversation.conversation_key for conversation in counted}


async def _count_inbound(
    uow: UnitOfWork, conversation: Conversation, *, count: int, at: datetime
) -> None:
    """Count ``count`` more customer messages, the last at ``at``, in a conversation (not
    written yet): its counts, and the reply now due from the agent who holds it."""
    reply_due_at = conversation.reply_due_at
    if conversation.status == ConversationStatus.ASSIGNED and reply_due_at is None:
        queue = (
            await uow.queues.queue_by_id(conversation.queue_id) if conversation.queue_id else None
        )
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
    if not await uow.conversations.insert_conversation(conversation):
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
    await uow.conversations.update_conversation(
        closed,
        status=ConversationStatus.QUEUED,
        cycle_started_at=at,
        last_inbound_at=at,
        inbound_count=closed.inbound_count + 1,
        reopen_count=closed.reopen_count + 1,
        accepted_at=None,
        resolved_at=None,
    )
    uow.steps.add(
        LifecycleStep.REOPENED,
        at=event.occurred_at,
        conversation=closed,
        cause_event_id=event.event_id,
        event_id=step_id(event, LifecycleStep.REOPENED),
    )
    await holding.place(uow, conversation=closed, at=at)


async def _customer_left(uow: UnitOfWork, *, event: InteractionEvent) -> None:
    current = await uow.conversations.lock_open_by_key(event.conversation_key)
    if current is not None and current.accepted_at is None:
        await _abandon(uow, current, event=event)


async def _call_ended(uow: UnitOfWork, *, event: InteractionEvent) -> None:
    current = await uow.conversations.lock_open_by_key(event.conversation_key)
    if current is None:
        return
    disposition = event.call.disposition if event.call else None
    if current.accepted_at is None and disposition is CallDisposition.ABANDONED:
        await _abandon(uow, current, event=event)
        return
    # A call is over when it ends: resolve it, crediting whoever held it.
    at = event.occurred_at
    holder = current.agent_id
    if holder is not None:
        await holding.close_pending_offer(
            uow, conversation=current, state=OfferState.WITHDRAWN, at=at
        )
        await holding.release(uow, conversation=current, at=at)
    await uow.conversations.update_conversation(
        current, status=ConversationStatus.RESOLVED, resolved_at=at, reply_due_at=None
    )
    uow.steps.add(
        LifecycleStep.RESOLVED,
        at=at,
        conversation=current,
        agent_id=holder,
        cause_event_id=event.event_id,
        event_id=step_id(event, LifecycleStep.RESOLVED),
    )


async def _abandon(uow: UnitOfWork, current: Conversation, *, event: InteractionEvent) -> None:
    at = event.occurred_at
    holder = current.agent_id
    if holder is not None:
        await holding.close_pending_offer(
            uow, conversation=current, state=OfferState.WITHDRAWN, at=at
        )
        await holding.release(uow, conversation=current, at=at)
    await uow.conversations.update_conversation(
        current, status=ConversationStatus.ABANDONED, resolved_at=at, reply_due_at=None
    )
    uow.steps.add(
        LifecycleStep.ABANDONED,
        at=at,
        conversation=current,
        agent_id=holder,
        cause_event_id=event.event_id,
        event_id=step_id(event, LifecycleStep.ABANDONED),
    )
