"""The chat connector: website chat, Slack and a generic chat webhook."""

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from services.chat import models, outbound, privacy, visitors
from services.chat.endpoints import router as webhooks
from services.chat.hub import Hub
from services.chat.limits import VisitorLimits
from services.chat.settings import ChatSettings
from services.chat.visitor_endpoints import router as website_chat
from shared.events import INTERACTIONS_TOPIC, PRIVACY_TOPIC, InteractionEvent
from shared.kafka import ConsumerLoop
from shared.outbound import install as install_outbound
from shared.privacy import install as install_privacy
from shared.service import Runtime, create_service_app
from shared.workers import PeriodicWorker


def create_app() -> FastAPI:
    settings = ChatSettings()

    async def on_startup(runtime: Runtime) -> None:
        hub = Hub()
        runtime.provide(hub)
        runtime.provide(VisitorLimits(settings))

        async def deliver_replies(events: Sequence[InteractionEvent]) -> None:
            for event in events:
                if visitors.is_widget_reply(event):
                    await visitors.deliver_reply(runtime.database, hub, event)

        async def close_idle() -> None:
            await visitors.close_idle(
                runtime.database, runtime.producer, idle_timeout_s=settings.idle_timeout_s
            )

        runtime.add_worker(
            ConsumerLoop(
                settings=runtime.platform,
                group_id=settings.replies_group,
                decoders={INTERACTIONS_TOPIC: InteractionEvent.from_json},
                handle=deliver_replies,
                producer=runtime.producer,
                wants=visitors.may_be_widget_reply,
            )
        )
        runtime.add_worker(
            PeriodicWorker(
                name="chat-idle-sessions",
                interval_s=settings.idle_check_interval_s,
                job=close_idle,
            )
        )
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

    app = create_service_app(
        name="chat",
        description=__doc__ or "",
        routers=[webhooks, website_chat],
        topics=[INTERACTIONS_TOPIC, PRIVACY_TOPIC],
        settings=settings,
        on_startup=on_startup,
    )
    # The widget runs on customers' sites and calls the visitor API from there. The token
    # travels in a header, never a cookie, so no credentials are allowed across origins.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.widget_origin_list,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        # The widget reads how long a 429 asks it to wait.
        expose_headers=["Retry-After"],
        max_age=600,
    )
    return app
