"""The social connector: Messenger, Instagram, WhatsApp, X and Telegram."""

from fastapi import FastAPI

from services.social import models, outbound, privacy
from services.social.endpoints import router
from services.social.settings import SocialSettings
from shared.events import INTERACTIONS_TOPIC, PRIVACY_TOPIC
from shared.outbound import install as install_outbound
from shared.privacy import install as install_privacy
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
        install_privacy(
            runtime,
            settings=settings,
            erase=privacy.erase,
            retention=privacy.retention_rules(settings),
        )

    return create_service_app(
        name="social",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC, PRIVACY_TOPIC],
        settings=settings,
        on_startup=on_startup,
    )
