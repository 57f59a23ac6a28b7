"""The phone connector: Twilio voice and SMS, Asterisk CDRs and generic call logs."""

from fastapi import FastAPI

from services.phone.endpoints import router
from services.phone.settings import PhoneSettings
from shared.events import INTERACTIONS_TOPIC
from shared.service import create_service_app


def create_app(settings: PhoneSettings | None = None) -> FastAPI:
    """Build the app; without ``settings``, they are read from the environment."""
    return create_service_app(
        name="phone",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC],
        settings=settings or PhoneSettings(),
    )
