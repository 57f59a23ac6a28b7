"""A running routing service and helpers to drive it as admin, agents and customers."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from sqlalchemy import text

from services.routing.settings import RoutingSettings
from shared.db import Database
from shared.events import INTERACTIONS_TOPIC, ROUTING_TOPIC, InteractionEvent
from shared.kafka import EventProducer, OutgoingRecord
from tests.factories import interaction
from tests.support.kafka import read_topic, values

ADMIN_TOKEN = "dev-admin-token"  # the routing service's development default
T = TypeVar("T")


def routing_settings(**overrides: object) -> RoutingSettings:
    """Short intervals so timers fire within a test; a consumer group of its own."""
    fields: dict[str, object] = {
        "consumer_group": f"routing-test-{uuid.uuid4().hex[:8]}",
        "match_interval_s": 0.2,
        "timeouts_before_away": 2,
        "stream_heartbeat_s": 1.0,
        # The tests' providers are made-up names (one per test, for isolation) that stand for
        # channels with an outbound path.
        "reply_providers": "*",
        **overrides,
    }
    return RoutingSettings(**fields)  # type: ignore[arg-type]


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 30.0, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


@dataclass
class Agent:
    id: str
    token: str
    client: httpx.AsyncClient

    async def status(self, status: str) -> dict[str, Any]:
        response = await self.client.put("/agent/status", json={"status": status})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def offers(self) -> list[dict[str, Any]]:
        response = await self.client.get("/agent/offers")
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()
        return found

    async def offer_for(self, key: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for this agent's pending offer of conversation ``key``."""

        async def probe() -> dict[str, Any] | None:
            return next((o for o in await self.offers() if o["conversation_key"] == key), None)

        return await eventually(probe, timeout=timeout, what=f"an offer of {key}")

    async def accept(self, offer: dict[str, Any]) -> dict[str, Any]:
        response = await self.client.post(f"/agent/offers/{offer['id']}/accept")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def take(self, key: str) -> dict[str, Any]:
        """Wait for the offer of ``key`` and accept it; the assigned conversation."""
        return await self.accept(await self.offer_for(key))

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.client.post(path, json=body)


@dataclass
class Routing:
    """The served app, an admin client, the database and the broker."""

    url: str
    admin: httpx.AsyncClient
    database: Database
    producer: EventProducer
    broker: str
    agents: list[Agent] = field(default_factory=list)

    async def queue(self, **fields: Any) -> dict[str, Any]:
        body = {"name": f"q-{uuid.uuid4().hex[:10]}", "channel": "chat", **fields}
        response = await self.admin.post("/admin/queues", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def agent(self, status: str = "offline", **fields: Any) -> Agent:
        body = {"name": f"agent-{uuid.uuid4().hex[:6]}", "status": status, **fields}
        response = await self.admin.post("/admin/agents", json=body)
        assert response.status_code == 201, response.text
        created = response.json()
        client = httpx.AsyncClient(
            base_url=self.url, headers={"Authorization": f"Bearer {created['token']}"}
        )
        agent = Agent(id=created["agent"]["id"], token=created["token"], client=client)
        self.agents.append(agent)
        return agent

    async def publish(self, *events: InteractionEvent) -> None:
        await self.producer.publish_many(
            [OutgoingRecord(INTERACTIONS_TOPIC, e.kafka_key, e.to_json()) for e in events]
        )

    async def customer_writes(self, *, provider: str, **overrides: Any) -> InteractionEvent:
        """Publish an inbound chat message through the broker; the event."""
        event = interaction(provider=provider, **overrides)
        await self.publish(event)
        return event

    async def conversation(self, key: str) -> dict[str, Any] | None:
        """The newest conversation with this key, with its queue's name."""
        async with self.database.transaction() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT c.*, q.name AS queue_name FROM routing.conversation c "
                        "LEFT JOIN routing.queue q ON q.id = c.queue_id "
                        "WHERE c.conversation_key = :key ORDER BY c.opened_at DESC LIMIT 1"
                    ),
                    {"key": key},
                )
            ).first()
        return dict(row._mapping) if row is not None else None

    async def conversation_in(self, key: str, *statuses: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            row = await self.conversation(key)
            return row if row is not None and row["status"] in statuses else None

        return await eventually(probe, what=f"{key} to be {'/'.join(statuses)}")

    async def sql(self, query: str, **params: Any) -> list[dict[str, Any]]:
        async with self.database.transaction() as session:
            rows = await session.execute(text(query), params)
        return [dict(r._mapping) for r in rows]

    async def lifecycle(
        self, key: str, until: Callable[[list[dict[str, Any]]], bool], *, settle: float = 0.0
    ) -> list[dict[str, Any]]:
        """The routing.v1 events of conversation ``key``, once ``until`` holds for them."""

        def mine(records: list[Any]) -> list[dict[str, Any]]:
            return [v for v in values(records) if v.get("conversation_key") == key]

        records = await read_topic(
            self.broker, ROUTING_TOPIC, until=lambda rs: until(mine(rs)), timeout=30, settle=settle
        )
        return mine(records)


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"].removeprefix("conversation.") for e in events]


def tag() -> str:
    return uuid.uuid4().hex[:10]


async def agent_steps(
    broker: str, agent_id: str, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The agent.status_changed events of one agent on routing.v1."""

    def mine(records: list[Any]) -> list[dict[str, Any]]:
        return [
            v
            for v in values(records)
            if v.get("type") == "agent.status_changed" and v.get("agent_id") == agent_id
        ]

    records = await read_topic(broker, ROUTING_TOPIC, until=lambda rs: until(mine(rs)), timeout=30)
    return mine(records)
