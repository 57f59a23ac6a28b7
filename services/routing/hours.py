"""Business hours: the one automatic reply a conversation gets when it opens while its queue
is closed. The conversation then waits in its queue as any other."""

import uuid

from services.routing import automated, outbound
from services.routing.domain import Queue
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.events import Schedule


async def reply_when_closed(uow: UnitOfWork, *, providers: frozenset[str]) -> int:
    """Send the queue's ``closed_message`` to each conversation this transaction opened or
    reopened outside its queue's hours, where the channel can carry it; how many were sent."""
    queues: dict[uuid.UUID, Queue | None] = {}
    sent = 0
    for conversation in uow.openings:
        queue_id = conversation.queue_id
        if queue_id is None:
            continue
        if queue_id not in queues:
            queues[queue_id] = await uow.queues.get(queue_id)
        queue = queues[queue_id]
        if queue is None or not queue.schedule or not queue.closed_message:
            continue
        opened = conversation.cycle_started_at
        if Schedule.model_validate(queue.schedule).is_open(opened):
            continue
        try:
            outbound.require_outbound_path(conversation, providers=providers)
        except outbound.NoOutboundPath:
            continue  # a call hears the phone connector's own closed message
        cause = f"{conversation.id}:{opened.isoformat()}:closed"
        at = max(utc_now(), opened)
        if await automated.send(
            uow, conversation=conversation, text=queue.closed_message, cause=cause, at=at
        ):
            sent += 1
    uow.openings.clear()
    return sent
