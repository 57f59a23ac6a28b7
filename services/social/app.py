"""The social connector: Messenger, Instagram, WhatsApp, X and Telegram."""

from fastapi import FastAPI

from services.social import models, outbound
from services.social.endpoints import router
from services.social.settings import SocialSettings
from shared.events import INTERACTIONS_TOPIC
from shared.outbound import install as install_outbound
from shared.service import Runtime, create_service_app


def create_app() -> FastAPI:
    settings = SocialSettings()

    async def on_startup(runtime: Runtime) -> None:
        install_outbound(
            runtime,
            settings=settings,
            delivery=models.delivery,
            outbox=models.outbox,
            transports=outbound.transports(settings),
            wants=outbound.may_be_delivered,
        )

    return create_service_app(
        name="social",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC],
        settings=settings,
        on_startup=on_startup,
    )
