"""The metrics service: customer-service KPIs from the event stream."""

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI

from services.metrics import service
from services.metrics.endpoints import router
from shared.events import INTERACTIONS_TOPIC, ROUTING_TOPIC, InteractionEvent, RoutingEvent
from shared.kafka import ConsumerLoop
from shared.service import Runtime, create_service_app

CONSUMER_GROUP = "metrics"


def create_app() -> FastAPI:
    async def on_startup(runtime: Runtime) -> None:
        async def handle(events: Sequence[Any]) -> None:
            await service.record_events(runtime.database, events)

        runtime.add_worker(
            ConsumerLoop(
                settings=runtime.platform,
                group_id=CONSUMER_GROUP,
                decoders={
                    INTERACTIONS_TOPIC: InteractionEvent.from_json,
                    ROUTING_TOPIC: RoutingEvent.from_json,
                },
                handle=handle,
                producer=runtime.producer,
            )
        )

    return create_service_app(
        name="metrics",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC, ROUTING_TOPIC],
        on_startup=on_startup,
    )
