"""Two routing instances, one database, one consumer group: capacity holds, nobody shares.

2,000 conversations arrive through the broker while 50 agents (driven through the
service layer, as fast as they can) accept, decline, resolve and drop offline; both
instances match at once. The hold audit is then replayed in SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from services.routing import agent_service, presence
from services.routing.app import create_app
from services.routing.domain import AgentStatus
from services.routing.unit_of_work import UnitOfWork
from services.routing.worker import RoutingWorker
from shared.clock import utc_now
from shared.db import Database
from shared.errors import Conflict
from shared.events import INTERACTIONS_TOPIC
from shared.kafka import EventProducer
from tests.routing.support import ADMIN_TOKEN, Routing, eventually, routing_settings, tag
from tests.support.kafka import group_at_end
from tests.support.server import serving

CONVERSATIONS = 2000
AGENTS = 50


class Crowd:
    """Fifty agents working their offers until told to stop."""

    def __init__(self, database: Database, agent_ids: list[uuid.UUID]) -> None:
        self.database = database
        self.agent_ids = agent_ids
        self.stop = asyncio.Event()
        self.overfull: list[dict[str, Any]] = []

    async def work(self, agent_id: uuid.UUID, seed: int) -> None:
        rng = random.Random(seed)
        handled = 0
        while not self.stop.is_set():
            async with UnitOfWork(self.database) as uow:
                offers = await agent_service.my_offers(uow, agent_id=agent_id)
            if not offers:
                await asyncio.sleep(0.3)
                continue
            for offer in offers:
                handled += 1
                # Conflict: the offer went back meanwhile (we went offline, it timed out).
                with contextlib.suppress(Conflict):
                    await self.answer(agent_id, offer.id, decline=rng.random() < 0.1)
            if handled % 40 == 0:
                await self.set_status(agent_id, AgentStatus.OFFLINE)
                await asyncio.sleep(0.05)
                await self.set_status(agent_id, AgentStatus.AVAILABLE)

    async def answer(self, agent_id: uuid.UUID, offer_id: uuid.UUID, *, decline: bool) -> None:
        uow = UnitOfWork(self.database)
        if decline:
            await uow.run(agent_service.decline, agent_id=agent_id, offer_id=offer_id)
            return
        conversation = await uow.run(agent_service.accept, agent_id=agent_id, offer_id=offer_id)
        await uow.run(agent_service.resolve, agent_id=agent_id, conversation_id=conversation.id)

    async def set_status(self, agent_id: uuid.UUID, status: AgentStatus) -> None:
        await UnitOfWork(self.database).run(
            presence.set_status, agent_id=agent_id, status=status, at=utc_now()
        )

    async def watch(self, routing: Routing, agent_ids: list[str]) -> None:
        """Sample live holdings while everyone works: nobody is ever over capacity."""
        while not self.stop.is_set():
            self.overfull += await routing.sql(
                "SELECT c.agent_id, c.channel, count(*) AS held "
                "FROM routing.conversation c JOIN routing.agent a ON a.id = c.agent_id "
                "WHERE CAST(c.agent_id AS text) = ANY(:agents) "
                "GROUP BY c.agent_id, c.channel, a.capacity "
                "HAVING count(*) > CAST(a.capacity ->> c.channel AS int)",
                agents=agent_ids,
            )
            await asyncio.sleep(0.25)


@pytest.mark.timeout(600)
async def test_two_instances_never_exceed_capacity_nor_share_a_conversation(
    stack_env: None, broker: str, database: Database, producer: EventProducer
) -> None:
    t = tag()
    group = await group_at_end(broker, [INTERACTIONS_TOPIC], "routing-invariants")
    async with AsyncExitStack() as stack:
        apps = [create_app(routing_settings(consumer_group=group)) for _ in range(2)]
        urls = [await stack.enter_async_context(serving(app)) for app in apps]
        admin = await stack.enter_async_context(
            httpx.AsyncClient(base_url=urls[0], headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        )
        routing = Routing(
            url=urls[0], admin=admin, database=database, producer=producer, broker=broker
        )
        await routing.queue(providers=[t], required_skills=[t], offer_timeout_seconds=20)
        rng = random.Random(7)
        agents = [
            await routing.agent(
                skills=[t], status="available", capacity={"chat": rng.choice([1, 2, 3, 3])}
            )
            for _ in range(AGENTS)
        ]
        for agent in agents:
            await agent.client.aclose()
        agent_ids = [uuid.UUID(a.id) for a in agents]
        crowd = Crowd(database, agent_ids)
        workers = [
            asyncio.create_task(crowd.work(agent_id, seed))
            for seed, agent_id in enumerate(agent_ids)
        ]
        watcher = asyncio.create_task(crowd.watch(routing, [a.id for a in agents]))

        keys = [f"{t}:{i}" for i in range(CONVERSATIONS)]
        for start in range(0, CONVERSATIONS, 250):
            await asyncio.gather(
                *(
                    routing.customer_writes(provider=t, conversation_key=key)
                    for key in keys[start : start + 250]
                )
            )

        async def all_resolved() -> bool:
            rows = await routing.sql(
                "SELECT count(*) AS n FROM routing.conversation "
                "WHERE provider = :p AND status = 'resolved'",
                p=t,
            )
            return bool(rows[0]["n"] == CONVERSATIONS)

        try:
            await eventually(all_resolved, timeout=480, what="every conversation resolved")
        finally:
            crowd.stop.set()
            await asyncio.gather(*workers, watcher)
        # Both instances matched: the test really ran them side by side.
        offers_made = [
            next(w for w in app.state.runtime.workers if isinstance(w, RoutingWorker)).done[
                "assign_waiting"
            ]
            for app in apps
        ]

    assert all(made > 0 for made in offers_made), offers_made
    assert crowd.overfull == []
    await assert_invariants(routing, t, [a.id for a in agents])


async def assert_invariants(routing: Routing, provider: str, agent_ids: list[str]) -> None:
    # Replaying the hold audit in lock order: no agent ever held more than their capacity.
    over_capacity = await routing.sql(
        "WITH running AS ("
        "  SELECT h.agent_id, h.channel,"
        "         sum(h.delta) OVER (PARTITION BY h.agent_id, h.channel ORDER BY h.seq) AS held"
        "  FROM routing.hold_change h WHERE CAST(h.agent_id AS text) = ANY(:agents))"
        "SELECT r.agent_id, max(r.held) AS peak FROM running r "
        "JOIN routing.agent a ON a.id = r.agent_id "
        "GROUP BY r.agent_id, r.channel, a.capacity "
        "HAVING max(r.held) > CAST(a.capacity ->> r.channel AS int) OR min(r.held) < 0",
        agents=agent_ids,
    )
    assert over_capacity == []
    # ... and no conversation was ever held by two agents at once.
    shared = await routing.sql(
        "WITH running AS ("
        "  SELECT h.conversation_id,"
        "         sum(h.delta) OVER (PARTITION BY h.conversation_id ORDER BY h.seq) AS holders"
        "  FROM routing.hold_change h JOIN routing.conversation c ON c.id = h.conversation_id"
        "  WHERE c.provider = :p)"
        "SELECT conversation_id FROM running GROUP BY conversation_id "
        "HAVING max(holders) > 1 OR min(holders) < 0",
        p=provider,
    )
    assert shared == []
    (totals,) = await routing.sql(
        "SELECT count(*) AS conversations,"
        "       count(*) FILTER (WHERE agent_id IS NULL AND status = 'resolved') AS released,"
        "       count(DISTINCT conversation_key) AS keys "
        "FROM routing.conversation WHERE provider = :p",
        p=provider,
    )
    assert totals == {
        "conversations": CONVERSATIONS,
        "released": CONVERSATIONS,
        "keys": CONVERSATIONS,
    }
    (offers,) = await routing.sql(
        "SELECT count(*) FILTER (WHERE o.state = 'accepted') AS accepted,"
        "       count(*) FILTER (WHERE o.state = 'pending') AS pending,"
        "       count(*) FILTER (WHERE o.state = 'declined') AS declined "
        "FROM routing.offer o JOIN routing.conversation c ON c.id = o.conversation_id "
        "WHERE c.provider = :p",
        p=provider,
    )
    assert (offers["accepted"], offers["pending"]) == (CONVERSATIONS, 0)
    assert offers["declined"] > 0
    (balance,) = await routing.sql(
        "SELECT coalesce(sum(delta), 0) AS held FROM routing.hold_change "
        "WHERE CAST(agent_id AS text) = ANY(:agents)",
        agents=agent_ids,
    )
    assert balance["held"] == 0
