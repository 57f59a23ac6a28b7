"""Routing's consumer: what each interaction does, by type, and the batch fast paths.

A batch is recorded in one unit of work, each event at most once (by event id). The
common cases take a few statements for the whole batch: a key whose events are all
customer messages either opens its conversation (never had one: the first message opens
it, the others count) or adds them to its open conversation. Every other event goes
through its handler in :data:`EVENT_HANDLERS`, in order, one by one. Last, the batch's
inbound messages join their conversations' transcripts, all in one statement.
"""

import uuid
from collections.abc import Awaitable, Callable, Sequence

from services.routing import holding, hours, inbound, survey_questions, transcripts, wrapup
from services.routing.domain import Conversation, ConversationStatus, OfferState
from services.routing.inbound import opens_conversation, step_id
from services.routing.matching import Matcher
from services.routing.settings import RoutingSettings
from services.routing.surveys import SurveyIssuer
from services.routing.unit_of_work import UnitOfWork
from shared.db import Database
from shared.events import CallDisposition, EventType, InteractionEvent, LifecycleStep

Handler = Callable[[UnitOfWork, InteractionEvent, RoutingSettings], Awaitable[None]]


async def customer_contact(
    uow: UnitOfWork, event: InteractionEvent, settings: RoutingSettings
) -> None:
    """A message or a call from the customer; auto-replies, bounces and statuses do nothing."""
    if opens_conversation(event):
        await inbound.customer_contact(uow, settings=settings, event=event)


async def customer_left(uow: UnitOfWork, event: InteractionEvent, _: RoutingSettings) -> None:
    """The customer left before an agent accepted: the conversation is abandoned."""
    current = await uow.conversations.lock_open_by_key(event.conversation_key)
    if current is not None and current.accepted_at is None:
        await _abandon(uow, current, event=event)


async def call_ended(uow: UnitOfWork, event: InteractionEvent, _: RoutingSettings) -> None:
    """A call is over when it ends: abandoned if hung up unanswered, resolved otherwise.

    A caller who went to voicemail before any agent accepted is a contact waiting for a
    call back: the conversation stays in its queue for an agent to take, call the customer
    and resolve it, and is neither abandoned nor resolved by the call's end.
    """
    current = await uow.conversations.lock_open_by_key(event.conversation_key)
    if current is None:
        return
    disposition = event.call.disposition if event.call else None
    if current.accepted_at is None and disposition is CallDisposition.VOICEMAIL:
        await transcripts.record_voicemail(uow, event, current.id)
        return
    if current.accepted_at is None and disposition is CallDisposition.ABANDONED:
        await _abandon(uow, current, event=event)
        return
    # Resolved, crediting whoever held it.
    await _close(uow, current, event=event, status=ConversationStatus.RESOLVED)


async def _abandon(uow: UnitOfWork, current: Conversation, *, event: InteractionEvent) -> None:
    await _close(uow, current, event=event, status=ConversationStatus.ABANDONED)


#: The lifecycle step that announces each way an interaction closes a conversation.
_CLOSING_STEPS = {
    ConversationStatus.RESOLVED: LifecycleStep.RESOLVED,
    ConversationStatus.ABANDONED: LifecycleStep.ABANDONED,
}


async def _close(
    uow: UnitOfWork,
    current: Conversation,
    *,
    event: InteractionEvent,
    status: ConversationStatus,
) -> None:
    """End ``current`` as ``status`` when ``event`` happened: a pending offer is withdrawn,
    the holder's room freed, and the step names the holder."""
    at = event.occurred_at
    holder = current.agent_id
    was_assigned = current.status == ConversationStatus.ASSIGNED
    if holder is not None:
        await holding.close_pending_offer(
            uow, conversation=current, state=OfferState.WITHDRAWN, at=at
        )
        await holding.release(uow, conversation=current, at=at)
    await uow.conversations.update(current, status=status, resolved_at=at, reply_due_at=None)
    step = _CLOSING_STEPS[status]
    uow.steps.add(
        step,
        at=at,
        conversation=current,
        agent_id=holder,
        cause_event_id=event.event_id,
        event_id=step_id(event, step),
    )
    if status == ConversationStatus.RESOLVED:
        await survey_questions.ask(uow, conversation=current, at=at)
    if holder is not None and was_assigned and status == ConversationStatus.RESOLVED:
        # The end of a call the agent held: their after-call work starts now.
        await wrapup.begin(uow, agent_id=holder, conversation=current, at=at)


#: What an interaction does, by type; types not listed change nothing in routing.
EVENT_HANDLERS: dict[EventType, Handler] = {
    EventType.MESSAGE_RECEIVED: customer_contact,
    EventType.CALL_STARTED: customer_contact,
    EventType.CUSTOMER_LEFT: customer_left,
    EventType.CALL_ENDED: call_ended,
    EventType.MESSAGE_STATUS: transcripts.delivery_status,
}


async def record_interactions(
    uow: UnitOfWork, *, settings: RoutingSettings, events: Sequence[InteractionEvent]
) -> bool:
    """Apply a batch of interactions, each at most once (by event id); whether any of them
    may have put a conversation in a queue."""
    claimed = await _claim(uow, events)
    # A number answering a survey question is the answer, not a new contact.
    answers = await survey_questions.take_answers(uow, claimed)
    routed = [event for event in claimed if event.event_id not in answers]
    by_key: dict[str, list[InteractionEvent]] = {}
    for event in routed:
        by_key.setdefault(event.conversation_key, []).append(event)
    messages_only = {
        key: group for key, group in by_key.items() if all(map(opens_conversation, group))
    }
    known = await uow.conversations.keys_with_conversations(list(messages_only))
    await inbound.open_many(uow, groups=[g for key, g in messages_only.items() if key not in known])
    attached = await inbound.attach_many(
        uow, groups={key: g for key, g in messages_only.items() if key in known}
    )
    done = (messages_only.keys() - known) | attached
    for event in routed:
        handler = EVENT_HANDLERS.get(event.type)
        if handler is not None and event.conversation_key not in done:
            await handler(uow, event, settings)
    await transcripts.record_inbound(uow, events=claimed)
    await hours.reply_when_closed(uow, providers=settings.reply_provider_set)
    return any(opens_conversation(event) for event in routed)


async def _claim(uow: UnitOfWork, events: Sequence[InteractionEvent]) -> list[InteractionEvent]:
    """The events not processed before, in order, each once; they are now recorded as processed."""
    first: dict[uuid.UUID, InteractionEvent] = {}
    for event in events:
        first.setdefault(event.event_id, event)
    if not first:
        return []
    new = await uow.claim(first)
    return [event for event_id, event in first.items() if event_id in new]


class InteractionConsumer:
    """The consumer loop's handler: records each batch and offers what it queued at once."""

    def __init__(
        self,
        *,
        database: Database,
        settings: RoutingSettings,
        matcher: Matcher,
        published: Callable[[], None],
        more_to_match: Callable[[], None],
        surveys: SurveyIssuer,
    ) -> None:
        self._database = database
        self._settings = settings
        self._matcher = matcher
        self._published = published
        self._more_to_match = more_to_match
        self._surveys = surveys

    async def handle(self, events: Sequence[InteractionEvent]) -> None:
        """Record a batch in one transaction; wake the worker if matching is left to do."""
        uow = UnitOfWork(self._database, published=self._published, surveys=self._surveys)
        if await uow.run(self._record_and_match, events):
            self._more_to_match()

    async def _record_and_match(self, uow: UnitOfWork, events: Sequence[InteractionEvent]) -> bool:
        """Record the events and offer what they queued; whether the worker has work."""
        if not await record_interactions(uow, settings=self._settings, events=events):
            # Nothing queued; a conversation that ended may have freed an agent.
            return bool(uow.steps.records)
        # Offer what just arrived in the same transaction: no second commit, no wait
        # for the worker, which only runs for what this leaves.
        return not await self._matcher.assign_now(uow)
