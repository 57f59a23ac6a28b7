"""The email connector: inbound mail from Mailgun, SendGrid, Postmark and raw MIME."""

from fastapi import FastAPI

from services.email.endpoints import router
from services.email.settings import EmailSettings
from shared.events import INTERACTIONS_TOPIC
from shared.service import Runtime, create_service_app


def create_app(settings: EmailSettings | None = None) -> FastAPI:
    """Build the app; tests pass their own settings (secrets, clock tolerance)."""
    email_settings = settings or EmailSettings()

    async def on_startup(runtime: Runtime) -> None:
        runtime.state["settings"] = email_settings

    return create_service_app(
        name="email",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC],
        on_startup=on_startup,
    )
