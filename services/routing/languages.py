"""The language of a conversation whose opening message said too little to tell ("Hi").

Connectors leave ``content.language`` unset when a text is too short or the model unsure.
Such a conversation takes the language of a later customer message while no agent has
accepted it, and while it still waits unoffered it moves to the queue that language
selects, if that is another one with room.
"""

from collections.abc import Sequence
from datetime import datetime

from services.routing import holding
from services.routing.domain import Conversation, ConversationStatus
from services.routing.unit_of_work import UnitOfWork
from shared.events import InteractionEvent, LifecycleStep

#: Conversations that may still take a language: nobody has accepted them.
_UNACCEPTED = (ConversationStatus.QUEUED, ConversationStatus.OFFERED)


def language_of(events: Sequence[InteractionEvent]) -> str | None:
    """The first language the customer's messages show, if any does."""
    for event in events:
        if event.content is not None and event.content.language and not event.automated:
            return event.content.language
    return None


async def adopt_language(
    uow: UnitOfWork,
    conversation: Conversation,
    *,
    events: Sequence[InteractionEvent],
    at: datetime,
) -> None:
    """Give a conversation of no language the language of its new messages (it is locked).

    A queued conversation is then requeued (``conversation.requeued``, note ``language:
    <code>``) into the queue that language selects, when that is another queue with room;
    one already offered keeps its offer and its queue.
    """
    if conversation.language is not None or conversation.status not in _UNACCEPTED:
        return
    language = language_of(events)
    if language is None:
        return
    await uow.conversations.update(conversation, language=language)
    if conversation.status != ConversationStatus.QUEUED:
        return
    queue = await uow.queues.best_queue_for(
        channel=conversation.channel, provider=conversation.provider, language=language
    )
    if queue is None or queue.id == conversation.queue_id:
        return
    if queue.max_waiting is not None and (
        await uow.queues.waiting_count(queue.id) >= queue.max_waiting
    ):
        return  # better to wait where it is than to lose its place
    await holding.place(
        uow,
        conversation=conversation,
        at=at,
        queue=queue,
        step=LifecycleStep.REQUEUED,
        note=f"language: {language}",
    )
