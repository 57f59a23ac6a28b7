"""What the failure drills share: real service processes on a broker (and a Postgres) of their
own, signed chat webhooks, and exact counts read from the database tables and the topics."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

import asyncpg
import httpx
import psutil
from aiokafka.admin import AIOKafkaAdminClient

from bench.routing_bench import ROUTING_APP, create_queue_and_agents
from bench.stack import Process, Stack
from services.chat.settings import ChatSettings
from shared.events import (
    INTERACTIONS_TOPIC,
    ROUTING_TOPIC,
    InteractionEvent,
    LifecycleStep,
    RoutingEvent,
)
from switchboard_dev import migrations
from switchboard_dev.broker import Broker
from switchboard_dev.postgres import PostgresServer, create_database
from tests.support.kafka import read_topic
from tests.support.webhooks import standard_signed

CHAT_APP = "services.chat.app:create_app"
METRICS_APP = "services.metrics.app:create_app"
#: Chat connector, routing and metrics: the whole path of a chat message.
WHOLE_STACK = {"chat": CHAT_APP, "routing": ROUTING_APP, "metrics": METRICS_APP}

Event = TypeVar("Event")

METRICS_COUNTS = """
SELECT (SELECT coalesce(sum(events), 0) FROM metrics.volume_minute WHERE provider = $1),
       (SELECT count(*) FROM metrics.conversation_fact WHERE provider = $1)
"""
#: (offers, conversations offered) of a provider's conversations, whatever the offers' state.
OFFERS = """
SELECT count(*), count(DISTINCT o.conversation_id) FROM routing.offer o
JOIN routing.conversation c ON c.id = o.conversation_id WHERE c.provider = $1
"""


def drill_tag() -> str:
    """A provider name of the drill's own: every count below is filtered by it."""
    return "drill" + uuid.uuid4().hex[:10]


@contextlib.contextmanager
def own_broker() -> Iterator[Broker]:
    """A broker for this drill alone: pausing it must not stall the rest of the suite."""
    with Broker.running() as broker:
        yield broker


@contextlib.asynccontextmanager
async def own_postgres() -> AsyncIterator[tuple[PostgresServer, str]]:
    """An embedded Postgres for this drill alone (it may be stopped), with a migrated database."""
    server = await asyncio.to_thread(PostgresServer)
    try:
        database_url = await create_database(server.admin_url, "switchboard_drill")
        await asyncio.to_thread(migrations.upgrade, database_url)
        yield server, database_url
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def services_on(
    broker: Broker, database_url: str, **apps: str
) -> AsyncIterator[tuple[Stack, dict[str, Process]]]:
    """Start each ``name=app`` as a real uvicorn process; stop them all after."""
    stack = Stack(broker=broker, database_url=database_url, admin_url="")
    # Publish timeouts short enough that a paused broker answers 503 within the drill.
    stack.extra_env = {"KAFKA_PUBLISH_TIMEOUT_S": "1", "KAFKA_STALL_TIMEOUT_S": "8"}
    started: dict[str, Process] = {}
    try:
        for name, app in apps.items():
            started[name] = await asyncio.to_thread(start, stack, name, app)
        yield stack, started
    finally:
        await asyncio.to_thread(stack.stop_all)


def start(stack: Stack, name: str, app: str) -> Process:
    """``stack.start``, making sure the server that answers is the one just started: another
    suite or a benchmark may start a server on the same free port in the meantime."""
    for _ in range(3):
        process = stack.start(name, app)
        listeners = {
            c.pid
            for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr.port == process.port
        }
        if listeners == {process.popen.pid}:
            return process
        stack.stop(process)
    raise RuntimeError(f"{name}: port {process.port} answered by {listeners}, not by it")


def chat_message(tag: str, n: int) -> tuple[bytes, dict[str, str]]:
    """The ``n``-th signed generic-webhook message of the drill ``tag`` (its own conversation)."""
    body = json.dumps(
        {
            "message_id": f"{tag}-m{n}",
            "conversation_id": f"{tag}-c{n}",
            "sender": {"id": f"{tag}-v{n}"},
            "text": f"drill message {n}",
            "source": tag,
        }
    ).encode()
    return body, standard_signed(ChatSettings().generic_secret.get_secret_value(), body)


async def post_message(client: httpx.AsyncClient, tag: str, n: int) -> int:
    body, headers = chat_message(tag, n)
    response = await client.post("/webhooks/generic", content=body, headers=headers)
    return response.status_code


async def retry_refused(
    client: httpx.AsyncClient, tag: str, statuses: dict[int, int], *, attempts: int = 30
) -> set[int]:
    """What a provider does: send each refused message again, once a second, until accepted.

    ``statuses`` (message number -> last status) is updated; every status seen is returned.
    """
    seen = set(statuses.values())
    for _ in range(attempts):
        refused = [n for n, status in statuses.items() if status != 202]
        if not refused:
            break
        for n in refused:
            statuses[n] = await post_message(client, tag, n)
            seen.add(statuses[n])
        await asyncio.sleep(1)
    return seen


async def scalars(database_url: str, sql: str, *args: Any) -> tuple[int, ...]:
    """The first row of ``sql`` as integers."""
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(sql, *args)
    finally:
        await connection.close()
    assert row is not None
    return tuple(int(value) for value in row.values())


async def scalar(database_url: str, sql: str, *args: Any) -> int:
    return (await scalars(database_url, sql, *args))[0]


async def offers_made(database_url: str, tag: str) -> tuple[int, int]:
    """(offers, conversations offered) for the drill's provider."""
    offers, conversations = await scalars(database_url, OFFERS, tag)
    return offers, conversations


async def ready_checks(processes: dict[str, Process]) -> dict[str, int]:
    """Each process's ``/readyz`` status code."""
    async with httpx.AsyncClient(timeout=10) as client:
        return {
            name: (await client.get(process.base_url + "/readyz")).status_code
            for name, process in processes.items()
        }


async def listed_topics(bootstrap: str) -> set[str]:
    """The topics the broker lists."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def metrics_counts(database_url: str, tag: str) -> tuple[int, int]:
    """(events counted in the volume facts, conversation facts) of the drill's provider."""
    events, conversations = await scalars(database_url, METRICS_COUNTS, tag)
    return events, conversations


async def eventually(
    probe: Callable[[], Awaitable[tuple[int, int]]],
    expected: tuple[int, int],
    *,
    timeout: float = 120.0,
    settle: float = 4.0,
) -> tuple[int, int]:
    """Poll until ``probe()`` reaches ``expected``, then once more after ``settle`` seconds
    (a late duplicate would show up then); the last value read."""
    deadline = time.monotonic() + timeout
    value = await probe()
    while value != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        value = await probe()
    if value == expected:
        await asyncio.sleep(settle)
        value = await probe()
    return value


async def events_on(
    bootstrap: str,
    topic: str,
    decode: Callable[[bytes], Event],
    ours: Callable[[Event], bool],
    *,
    at_least: int,
    partitions: int | None = None,
) -> list[Event]:
    """The drill's events on ``topic`` (duplicates kept), once there are ``at_least``."""

    def keep(records: list[Any]) -> list[Event]:
        return [e for e in (decode(r.value) for r in records) if ours(e)]

    records = await read_topic(
        bootstrap,
        topic,
        until=lambda rs: len(keep(rs)) >= at_least,
        timeout=60,
        settle=1.0,
        partitions=partitions,
    )
    return keep(records)


async def events_on_topic(bootstrap: str, tag: str, *, at_least: int) -> list[InteractionEvent]:
    """The drill's events on interactions.v1 (duplicates kept), once there are ``at_least``."""
    return await events_on(
        bootstrap,
        INTERACTIONS_TOPIC,
        InteractionEvent.from_json,
        lambda e: e.provider == tag,
        at_least=at_least,
    )


async def offers_on_topic(
    bootstrap: str, queue: str, *, at_least: int, partitions: int | None = None
) -> list[RoutingEvent]:
    """The ``conversation.offered`` steps of ``queue`` on routing.v1 (duplicates kept)."""
    return await events_on(
        bootstrap,
        ROUTING_TOPIC,
        RoutingEvent.from_json,
        lambda e: e.type is LifecycleStep.OFFERED and e.queue == queue,
        at_least=at_least,
        partitions=partitions,
    )


async def queue_with_agents(routing_url: str, tag: str, *, agents: int, capacity: int) -> None:
    """A chat queue for provider ``tag`` with ``agents`` available agents of that skill."""
    await asyncio.to_thread(
        create_queue_and_agents,
        routing_url,
        queue=tag,
        providers=[tag],
        skill=tag,
        agents=agents,
        capacity=capacity,
    )
