"""The social connector: Messenger, Instagram, WhatsApp, X and Telegram."""

from fastapi import FastAPI

from services.social.endpoints import router
from services.social.settings import SocialSettings
from shared.events import INTERACTIONS_TOPIC
from shared.service import create_service_app


def create_app() -> FastAPI:
    return create_service_app(
        name="social",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC],
        settings=SocialSettings(),
    )
