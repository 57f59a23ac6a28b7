"""One call that wires a connector's outbound delivery into its start-up hook."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from aiokafka import ConsumerRecord
from sqlalchemy import Table

from shared.clock import utc_now
from shared.events import INTERACTIONS_TOPIC, InteractionEvent
from shared.kafka import ConsumerLoop
from shared.outbound import delivery as deliveries
from shared.outbound.settings import OutboundSettings
from shared.outbound.status import is_agent_reply
from shared.outbound.transport import Transport
from shared.outbound.worker import DeliveryWorker
from shared.outbox import OutboxRelay
from shared.service import Runtime

__all__ = ["REPLY_MARK", "install", "may_be_reply"]

#: The bytes every ``message.sent`` record holds: events are written by our own serializer
#: (``InteractionEvent.to_json``: compact JSON), so a record without them is no reply. The
#: outbound consumer reads the whole of ``interactions.v1``, every webhook's event included:
#: looking for these bytes spares decoding the events that are not replies.
REPLY_MARK = b'"type":"message.sent"'


def may_be_reply(
    wants: Callable[[ConsumerRecord], bool] | None,
) -> Callable[[ConsumerRecord], bool]:
    """``wants`` (a connector's look at the key), after the cheaper test for a reply's bytes."""

    def check(record: ConsumerRecord) -> bool:
        value = record.value
        if not isinstance(value, bytes) or REPLY_MARK not in value:
            return False
        return wants is None or wants(record)

    return check


def install(
    runtime: Runtime,
    *,
    settings: OutboundSettings,
    delivery: Table,
    outbox: Table,
    transports: Sequence[Transport],
    wants: Callable[[ConsumerRecord], bool] | None = None,
    relay: OutboxRelay | None = None,
) -> DeliveryWorker:
    """Deliver the agents' replies for ``transports``: call it from a connector's start-up hook.

    It adds three workers to ``runtime``: a consumer (group ``<service>-outbound`` unless
    ``settings.outbound_group`` names another) that queues one delivery per reply a
    transport serves, a :class:`DeliveryWorker` that sends them, and the
    :class:`~shared.outbox.OutboxRelay` that publishes their ``message.status`` events.
    ``delivery`` and ``outbox`` are the connector's tables (``delivery_table`` and
    ``outbox_table`` of its metadata); ``wants`` is a cheap look at a record's key that
    spares decoding records no transport could serve. A connector that writes other
    events to the same outbox passes its own ``relay`` of it, so that one relay serves both.
    """
    relay = relay or OutboxRelay(database=runtime.database, producer=runtime.producer, table=outbox)
    worker = DeliveryWorker(
        database=runtime.database,
        table=delivery,
        outbox=outbox,
        relay=relay,
        transports=transports,
        settings=settings,
        name=f"{runtime.name}-outbound-delivery",
    )

    async def queue_replies(events: Sequence[InteractionEvent]) -> None:
        replies = [e for e in events if is_agent_reply(e) and worker.transport_for(e)]
        if not replies:
            return
        async with runtime.database.transaction() as session:
            added = await deliveries.add(session, delivery, replies, at=utc_now())
        if added:
            worker.wake()

    runtime.add_worker(
        ConsumerLoop(
            settings=runtime.platform,
            group_id=settings.outbound_group or f"{runtime.name}-outbound",
            decoders={INTERACTIONS_TOPIC: InteractionEvent.from_json},
            handle=queue_replies,
            producer=runtime.producer,
            wants=may_be_reply(wants),
        )
    )
    runtime.add_worker(worker)
    runtime.add_worker(relay)
    return worker
