"""Wiring in one place: what a routing instance runs beside its endpoints, and what they get."""

from dataclasses import dataclass
from datetime import timedelta

from services.routing.erasure import retention_rules
from services.routing.feed import AgentFeed
from services.routing.handlers import InteractionConsumer
from services.routing.matching import Matcher
from services.routing.models import outbox
from services.routing.settings import RoutingSettings
from services.routing.surveys import SurveyIssuer
from services.routing.worker import RoutingWorker
from shared.events import INTERACTIONS_TOPIC, InteractionEvent
from shared.kafka import ConsumerLoop
from shared.outbox import OutboxRelay
from shared.privacy import install as install_privacy
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
        surveys = SurveyIssuer(
            settings.survey_secret,
            timedelta(seconds=settings.survey_valid_s),
            link_base=settings.survey_link_base,
            providers=settings.reply_provider_set,
        )
        worker = RoutingWorker(
            database=runtime.database,
            matcher=matcher,
            interval_s=settings.match_interval_s,
            published=relay.wake,
            notices_kept_s=settings.stream_replay_s,
        )
        feed = AgentFeed(runtime.platform.database_url)
        consumer = InteractionConsumer(
            database=runtime.database,
            settings=settings,
            matcher=matcher,
            published=relay.wake,
            more_to_match=worker.wake,
            surveys=surveys,
        )
        runtime.provide(matcher)
        runtime.provide(surveys)
        runtime.provide(feed)
        runtime.provide(Wakeup(relay=relay, worker=worker))
        runtime.add_worker(feed)
        runtime.add_worker(
            ConsumerLoop(
                settings=runtime.platform,
                group_id=settings.consumer_group,
                decoders={INTERACTIONS_TOPIC: InteractionEvent.from_json},
                handle=consumer.handle,
                producer=runtime.producer,
            )
        )
        runtime.add_worker(worker)
        runtime.add_worker(relay)
        install_privacy(runtime, settings=settings, retention=retention_rules(settings))

    return on_startup
