"""Business hours: what a conversation that opens while its queue is closed is told.

Every such opening is announced as ``conversation.out_of_hours`` with the queue's closed
message: the phone connector plays it to a live call and takes a voicemail. A channel that
carries text gets the message once, as an automatic reply. The conversation then waits in
its queue as any other.
"""

from services.routing import automated, outbound
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.events import LifecycleStep, Schedule, event_id_for


async def reply_when_closed(uow: UnitOfWork, *, providers: frozenset[str]) -> int:
    """Announce each conversation this transaction opened or reopened outside its queue's
    hours, and send it the queue's ``closed_message`` where the channel can carry text; how
    many messages were sent."""
    placed = [c.queue_id for c in uow.openings if c.queue_id is not None]
    queues = await uow.queues.get_many(list(dict.fromkeys(placed)))
    sent = 0
    for conversation in uow.openings:
        queue = queues.get(conversation.queue_id) if conversation.queue_id else None
        if queue is None or not queue.schedule:
            continue
        opened = conversation.cycle_started_at
        if Schedule.model_validate(queue.schedule).is_open(opened):
            continue
        cause = f"{conversation.id}:{opened.isoformat()}:closed"
        uow.steps.add(
            LifecycleStep.OUT_OF_HOURS,
            at=opened,
            conversation=conversation,
            queue=queue.name,
            event_id=event_id_for("routing", cause, LifecycleStep.OUT_OF_HOURS),
            closed_message=queue.closed_message,
        )
        if not queue.closed_message:
            continue
        try:
            outbound.require_outbound_path(conversation, providers=providers)
        except outbound.NoOutboundPath:
            continue  # a call hears the message from the phone connector instead
        at = max(utc_now(), opened)
        if await automated.send(
            uow, conversation=conversation, text=queue.closed_message, cause=cause, at=at
        ):
            sent += 1
    uow.openings.clear()
    return sent
