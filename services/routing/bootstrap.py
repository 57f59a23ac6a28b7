"""Wiring in one place: what a routing instance runs beside its endpoints, and what they get."""

from collections.abc import Sequence
from dataclasses import dataclass

from services.routing import service
from services.routing.feed import AgentFeed
from services.routing.matching import Matcher
from services.routing.models import outbox
from services.routing.settings import RoutingSettings
from services.routing.unit_of_work import UnitOfWork
from services.routing.worker import RoutingWorker
from shared.events import INTERACTIONS_TOPIC, InteractionEvent
from shared.kafka import ConsumerLoop
from shared.outbox import OutboxRelay
from shared.service import Runtime, StartupHook


@dataclass(frozen=True)
class Wakeup:
    """What an endpoint's commit that published wakes: the outbox relay, and the worker
    (a conversation was queued, or an agent has room again)."""

    relay: OutboxRelay
    worker: RoutingWorker

    def __call__(self) -> None:
        self.relay.wake()
        self.worker.wake()


def bootstrap(settings: RoutingSettings) -> StartupHook:
    """The start-up hook of a routing instance: its matcher, worker, agent feed, outbox
    relay and consumer, and the objects its endpoints depend on."""

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

        async def record_and_match(uow: UnitOfWork, events: Sequence[InteractionEvent]) -> bool:
            """Record the events and offer what they queued; whether the worker has work."""
            if not await service.record_interactions(uow, settings=settings, events=events):
                # Nothing queued; a conversation that ended may have freed an agent.
                return bool(uow.steps.records)
            # Offer what just arrived in the same transaction: no second commit, no wait
            # for the worker, which only runs for what this leaves.
            return not await matcher.assign_now(uow)

        async def handle(events: Sequence[InteractionEvent]) -> None:
            uow = UnitOfWork(runtime.database, published=relay.wake)
            if await uow.run(record_and_match, events):
                worker.wake()

        runtime.provide(matcher)
        runtime.provide(feed)
        runtime.provide(Wakeup(relay=relay, worker=worker))
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

    return on_startup
