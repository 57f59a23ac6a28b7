"""The email connector: inbound mail from Mailgun, SendGrid, Postmark and raw MIME; replies
by SMTP."""

from fastapi import FastAPI

from services.email import models, outbound, privacy
from services.email.endpoints import router
from services.email.settings import EmailSettings
from shared.events import INTERACTIONS_TOPIC, PRIVACY_TOPIC
from shared.outbound import install as install_outbound
from shared.privacy import install as install_privacy
from shared.service import Runtime, create_service_app


def create_app(settings: EmailSettings | None = None) -> FastAPI:
    """Build the app; tests pass their own settings (secrets, clock tolerance)."""
    settings = settings or EmailSettings()

    async def on_startup(runtime: Runtime) -> None:
        install_outbound(
            runtime,
            settings=settings,
            delivery=models.delivery,
            outbox=models.outbox,
            transports=[outbound.SmtpTransport(settings, runtime.database)],
            wants=outbound.may_be_delivered,
        )
        install_privacy(
            runtime,
            settings=settings,
            erase=privacy.erase,
            retention=privacy.retention_rules(settings),
        )

    return create_service_app(
        name="email",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC, PRIVACY_TOPIC],
        settings=settings,
        on_startup=on_startup,
    )
