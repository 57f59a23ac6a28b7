"""The routing service: conversations, queues, agents and offers."""

from fastapi import FastAPI

from services.routing import admin_endpoints, endpoints
from services.routing.bootstrap import bootstrap
from services.routing.console.routers import ROUTERS as CONSOLE_ROUTERS
from services.routing.labels import endpoints as labels
from services.routing.settings import RoutingSettings
from shared.events import ACCESS_TOPIC, INTERACTIONS_TOPIC, PRIVACY_TOPIC, ROUTING_TOPIC
from shared.service import create_service_app


def create_app(settings: RoutingSettings | None = None) -> FastAPI:
    settings = settings or RoutingSettings()
    return create_service_app(
        name="routing",
        description=__doc__ or "",
        routers=[
            endpoints.router,
            admin_endpoints.router,
            labels.admin,
            labels.agent,
            labels.supervisor,
            *CONSOLE_ROUTERS,
        ],
        topics=[INTERACTIONS_TOPIC, ROUTING_TOPIC, ACCESS_TOPIC, PRIVACY_TOPIC],
        settings=settings,
        on_startup=bootstrap(settings),
        max_body_bytes=settings.max_body_bytes,
    )
