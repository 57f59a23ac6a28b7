"""The phone connector: Twilio voice and SMS, Asterisk CDRs and generic call logs."""

from fastapi import FastAPI

from services.phone import models, outbound, privacy
from services.phone.connect import CallConnector
from services.phone.endpoints import router
from services.phone.settings import PhoneSettings
from shared.events import INTERACTIONS_TOPIC, PRIVACY_TOPIC, ROUTING_TOPIC
from shared.language import warm_up as warm_up_language
from shared.outbound import install as install_outbound
from shared.outbox import OutboxRelay
from shared.privacy import install as install_privacy
from shared.service import Runtime, create_service_app


def create_app(settings: PhoneSettings | None = None) -> FastAPI:
    """Build the app; without ``settings``, they are read from the environment."""
    settings = settings or PhoneSettings()

    async def on_startup(runtime: Runtime) -> None:
        # The language model loads now, not on the first customer's message.
        warm_up_language()
        # One relay of the connector's outbox: the statuses of replies and the call events
        # the voice webhook keeps there until the broker takes them.
        relay = OutboxRelay(
            database=runtime.database, producer=runtime.producer, table=models.outbox
        )
        runtime.provide(relay)
        install_outbound(
            runtime,
            settings=settings,
            delivery=models.delivery,
            outbox=models.outbox,
            transports=outbound.transports(settings),
            wants=outbound.may_be_delivered,
            relay=relay,
        )
        install_privacy(
            runtime,
            settings=settings,
            erase=privacy.erase,
            retention=privacy.retention_rules(settings),
        )
        runtime.add_worker(CallConnector(runtime, settings))

    return create_service_app(
        name="phone",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC, ROUTING_TOPIC, PRIVACY_TOPIC],
        settings=settings,
        on_startup=on_startup,
    )
