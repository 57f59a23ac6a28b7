"""The email connector: inbound mail from Mailgun, SendGrid, Postmark and raw MIME."""

from fastapi import FastAPI

from services.email.endpoints import router
from services.email.settings import EmailSettings
from shared.events import INTERACTIONS_TOPIC
from shared.service import create_service_app


def create_app(settings: EmailSettings | None = None) -> FastAPI:
    """Build the app; tests pass their own settings (secrets, clock tolerance)."""
    return create_service_app(
        name="email",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC],
        settings=settings or EmailSettings(),
    )
