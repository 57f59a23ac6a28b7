"""The phone connector: Twilio voice and SMS, Asterisk CDRs and generic call logs."""

from fastapi import FastAPI

from services.phone.endpoints import router
from services.phone.settings import PhoneSettings
from shared.events import INTERACTIONS_TOPIC
from shared.service import Runtime, create_service_app


def create_app() -> FastAPI:
    settings = PhoneSettings()

    async def on_startup(runtime: Runtime) -> None:
        runtime.state["settings"] = settings

    return create_service_app(
        name="phone",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC],
        on_startup=on_startup,
    )
