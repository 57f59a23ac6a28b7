"""One routing service per test module: consumer-group joins are slow on the embedded broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.routing.app import create_app
from shared.db import Database
from shared.events import INTERACTIONS_TOPIC
from shared.kafka import EventProducer
from tests.routing.support import ADMIN_TOKEN, Routing, routing_settings
from tests.support.kafka import group_at_end
from tests.support.server import serving


@pytest.fixture(scope="module")
async def routing(
    request: pytest.FixtureRequest,
    stack_env: None,
    broker: str,
    database: Database,
    producer: EventProducer,
) -> AsyncIterator[Routing]:
    # Start where the shared topic ends now, rather than replay every earlier test's events.
    group = await group_at_end(broker, [INTERACTIONS_TOPIC], "routing-test")
    # A module may set ROUTING_SETTINGS (a dict of settings) for its service.
    overrides = getattr(request.module, "ROUTING_SETTINGS", {})
    async with (
        serving(create_app(routing_settings(consumer_group=group, **overrides))) as url,
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as admin,
    ):
        harness = Routing(url=url, admin=admin, database=database, producer=producer, broker=broker)
        try:
            yield harness
        finally:
            # Leave no agent available for the queues of the next module.
            for agent in harness.agents:
                await agent.client.put("/agent/status", json={"status": "offline"})
                await agent.client.aclose()
