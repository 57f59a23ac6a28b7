"""One routing service per test module: consumer-group joins are slow on the embedded broker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services.routing.app import create_app
from services.routing.settings import RoutingSettings
from shared.db import Database
from shared.kafka import EventProducer
from tests.routing.support import ADMIN_TOKEN, Routing
from tests.support.server import serving


def test_settings(**overrides: object) -> RoutingSettings:
    """Short intervals so timers fire within a test; a consumer group of its own."""
    fields: dict[str, object] = {
        "consumer_group": f"routing-test-{uuid.uuid4().hex[:8]}",
        "match_interval_s": 0.2,
        "timeouts_before_away": 2,
        "stream_heartbeat_s": 1.0,
        **overrides,
    }
    return RoutingSettings(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
async def routing(
    stack_env: None, broker: str, database: Database, producer: EventProducer
) -> AsyncIterator[Routing]:
    async with (
        serving(create_app(test_settings())) as url,
        httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ) as admin,
    ):
        harness = Routing(url=url, admin=admin, database=database, producer=producer, broker=broker)
        try:
            yield harness
        finally:
            for agent in harness.agents:
                await agent.client.aclose()
