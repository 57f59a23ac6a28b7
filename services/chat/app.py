"""The chat connector: website chat, Slack and a generic chat webhook."""

from fastapi import FastAPI

from services.chat.endpoints import router
from services.chat.settings import ChatSettings
from shared.events import INTERACTIONS_TOPIC
from shared.service import Runtime, create_service_app


def create_app() -> FastAPI:
    settings = ChatSettings()

    async def on_startup(runtime: Runtime) -> None:
        runtime.state["settings"] = settings

    return create_service_app(
        name="chat",
        description=__doc__ or "",
        routers=[router],
        topics=[INTERACTIONS_TOPIC],
        on_startup=on_startup,
    )
