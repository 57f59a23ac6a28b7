"""The routing service: conversations, queues, agents and offers."""

from collections.abc import Sequence

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import admin_endpoints, endpoints, service
from services.routing.feed import AgentFeed
from services.routing.lifecycle import Steps, in_transaction
from services.routing.matching import Matcher
from services.routing.models import outbox
from services.routing.settings import RoutingSettings
from services.routing.worker import RoutingWorker
from shared.events import INTERACTIONS_TOPIC, ROUTING_TOPIC, InteractionEvent
from shared.kafka import ConsumerLoop
from shared.outbox import OutboxRelay
from shared.service import Runtime, create_service_app


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()

    async def on_startup(runtime: Runtime) -> None:
        relay = OutboxRelay(database=runtime.database, producer=runtime.producer, table=outbox)
        matcher = Matcher(settings)
        worker = RoutingWorker(
            database=runtime.database,
            matcher=matcher,
            interval_s=settings.match_interval_s,
            published=relay.wake,
        )
        feed = AgentFeed(runtime.platform.database_url)

        def published() -> None:
            relay.wake()
            worker.wake()

        async def record_and_match(
            session: AsyncSession, steps: Steps, events: Sequence[InteractionEvent]
        ) -> bool:
            """Record the events and offer what they queued; whether the worker has work."""
            if not await service.record_interactions(
                session, steps, settings=settings, events=events
            ):
                # Nothing queued; a conversation that ended may have freed an agent.
                return bool(steps.records)
            # Offer what just arrived in the same transaction: no second commit, no wait
            # for the worker, which only runs for what this leaves.
            return not await matcher.assign_now(session, steps)

        async def handle(events: Sequence[InteractionEvent]) -> None:
            if await in_transaction(
                runtime.database,
                lambda session, steps: record_and_match(session, steps, events),
                wake=relay.wake,
            ):
                worker.wake()

        runtime.state.update(settings=settings, matcher=matcher, feed=feed, published=published)
        runtime.add_worker(feed)
        runtime.add_worker(
            ConsumerLoop(
                settings=runtime.platform,
                group_id=settings.consumer_group,
                decoders={INTERACTIONS_TOPIC: InteractionEvent.from_json},
                handle=handle,
                producer=runtime.producer,
            )
        )
        runtime.add_worker(worker)
        runtime.add_worker(relay)

    return create_service_app(
        name="routing",
        description=__doc__ or "",
        routers=[endpoints.router, admin_endpoints.router],
        topics=[INTERACTIONS_TOPIC, ROUTING_TOPIC],
        on_startup=on_startup,
        max_body_bytes=settings.max_body_bytes,
    )
