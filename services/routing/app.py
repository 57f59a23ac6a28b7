"""The routing service: conversations, queues, agents and offers."""

from collections.abc import Sequence

from fastapi import FastAPI

from services.routing import service
from services.routing.models import outbox
from shared.events import INTERACTIONS_TOPIC, ROUTING_TOPIC, InteractionEvent
from shared.kafka import ConsumerLoop
from shared.outbox import OutboxRelay
from shared.service import Runtime, create_service_app

CONSUMER_GROUP = "routing"


def create_app() -> FastAPI:
    async def on_startup(runtime: Runtime) -> None:
        relay = OutboxRelay(database=runtime.database, producer=runtime.producer, table=outbox)

        async def handle(events: Sequence[InteractionEvent]) -> None:
            if await service.record_interactions(runtime.database, events):
                relay.wake()

        runtime.add_worker(
            ConsumerLoop(
                settings=runtime.platform,
                group_id=CONSUMER_GROUP,
                decoders={INTERACTIONS_TOPIC: InteractionEvent.from_json},
                handle=handle,
                producer=runtime.producer,
            )
        )
        runtime.add_worker(relay)

    return create_service_app(
        name="routing",
        description=__doc__ or "",
        topics=[INTERACTIONS_TOPIC, ROUTING_TOPIC],
        on_startup=on_startup,
    )
