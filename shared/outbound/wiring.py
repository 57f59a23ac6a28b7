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

__all__ = ["install"]


def install(
    runtime: Runtime,
    *,
    settings: OutboundSettings,
    delivery: Table,
    outbox: Table,
    transports: Sequence[Transport],
    wants: Callable[[ConsumerRecord], bool] | None = None,
) -> DeliveryWorker:
    """Deliver the agents' replies for ``transports``: call it from a connector's start-up hook.

    It adds three workers to ``runtime``: a consumer (group ``<service>-outbound`` unless
    ``settings.outbound_group`` names another) that queues one delivery per reply a
    transport serves, a :class:`DeliveryWorker` that sends them, and the
    :class:`~shared.outbox.OutboxRelay` that publishes their ``message.status`` events.
    ``delivery`` and ``outbox`` are the connector's tables (``delivery_table`` and
    ``outbox_table`` of its metadata); ``wants`` is a cheap look at a record's key that
    spares decoding records no transport could serve.
    """
    relay = OutboxRelay(database=runtime.database, producer=runtime.producer, table=outbox)
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
            wants=wants,
        )
    )
    runtime.add_worker(worker)
    runtime.add_worker(relay)
    return worker
