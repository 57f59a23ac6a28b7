"""The metrics service: customer-service KPIs from the event stream."""

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI

from services.metrics import customers, privacy, service
from services.metrics.endpoints import router
from services.metrics.gauges import gauge_refresher
from services.metrics.repository import credentials
from services.metrics.settings import MetricsSettings
from shared.events import (
    ACCESS_TOPIC,
    CUSTOMERS_TOPIC,
    INTERACTIONS_TOPIC,
    PRIVACY_TOPIC,
    ROUTING_TOPIC,
    AccessEvent,
    CustomerEvent,
    InteractionEvent,
    RoutingEvent,
)
from shared.kafka import ConsumerLoop
from shared.privacy import install as install_privacy
from shared.service import Runtime, create_service_app


def create_app(settings: MetricsSettings | None = None) -> FastAPI:
    settings = settings or MetricsSettings()
    thresholds = service.thresholds_of(settings)

    async def on_startup(runtime: Runtime) -> None:
        erased = privacy.ErasedKeys(settings.pseudonym_secret)

        async def handle(events: Sequence[Any]) -> None:
            await service.record_events(
                runtime.database, events, thresholds=thresholds, erased=erased
            )

        runtime.add_worker(
            ConsumerLoop(
                settings=runtime.platform,
                group_id=settings.consumer_group,
                decoders={
                    INTERACTIONS_TOPIC: InteractionEvent.from_json,
                    ROUTING_TOPIC: RoutingEvent.from_json,
                },
                handle=handle,
                producer=runtime.producer,
            )
        )

        async def keep_credentials(events: Sequence[AccessEvent]) -> None:
            async with runtime.database.transaction() as session:
                await credentials.save(session, events)

        # Its own group: tokens are read from the start of the topic, apart from the KPIs.
        runtime.add_worker(
            ConsumerLoop(
                settings=runtime.platform,
                group_id=f"{settings.consumer_group}-access",
                decoders={ACCESS_TOPIC: AccessEvent.from_json},
                handle=keep_credentials,
                producer=runtime.producer,
            )
        )

        async def keep_customer_events(events: Sequence[CustomerEvent]) -> None:
            await customers.record_customer_events(runtime.database, events)

        # Its own group: the CRM's history is kept whole, apart from the KPIs' progress.
        runtime.add_worker(
            ConsumerLoop(
                settings=runtime.platform,
                group_id=f"{settings.consumer_group}-customers",
                decoders={CUSTOMERS_TOPIC: CustomerEvent.from_json},
                handle=keep_customer_events,
                producer=runtime.producer,
            )
        )
        runtime.add_worker(gauge_refresher(runtime.database, settings.gauge_refresh_s))
        install_privacy(
            runtime,
            settings=settings,
            erase=privacy.eraser(settings),
            retention=privacy.retention_rules(settings),
        )

    return create_service_app(
        name="metrics",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC, ROUTING_TOPIC, ACCESS_TOPIC, PRIVACY_TOPIC, CUSTOMERS_TOPIC],
        settings=settings,
        on_startup=on_startup,
        max_body_bytes=settings.max_body_bytes,
    )
