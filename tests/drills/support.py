"""What the failure drills share: real service processes on a broker of their own, signed
chat webhooks, and exact counts read from the metrics tables and the topic."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import httpx

from bench.stack import Process, Stack
from services.chat.settings import ChatSettings
from shared.events import INTERACTIONS_TOPIC, InteractionEvent
from shared.localstack import Broker
from tests.support.kafka import read_topic

CHAT_APP = "services.chat.app:create_app"
METRICS_APP = "services.metrics.app:create_app"


def drill_tag() -> str:
    """A provider name of the drill's own: every count below is filtered by it."""
    return "drill" + uuid.uuid4().hex[:10]


@contextlib.contextmanager
def own_broker() -> Iterator[Broker]:
    """A broker for this drill alone: pausing it must not stall the rest of the suite."""
    with Broker.running() as broker:
        yield broker


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
            started[name] = await asyncio.to_thread(stack.start, name, app)
        yield stack, started
    finally:
        await asyncio.to_thread(stack.stop_all)


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
    secret = ChatSettings().generic_secret.get_secret_value().encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Switchboard-Signature": signature}


async def post_message(client: httpx.AsyncClient, tag: str, n: int) -> int:
    body, headers = chat_message(tag, n)
    response = await client.post("/webhooks/generic", content=body, headers=headers)
    return response.status_code


async def metrics_counts(database_url: str, tag: str) -> tuple[int, int]:
    """(events counted in the volume facts, conversation facts) of the drill's provider."""
    connection = await asyncpg.connect(database_url)
    try:
        events = await connection.fetchval(
            "SELECT coalesce(sum(events), 0) FROM metrics.volume_minute WHERE provider = $1", tag
        )
        conversations = await connection.fetchval(
            "SELECT count(*) FROM metrics.conversation_fact WHERE provider = $1", tag
        )
    finally:
        await connection.close()
    return int(events), int(conversations)


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


async def events_on_topic(bootstrap: str, tag: str, *, at_least: int) -> list[InteractionEvent]:
    """The drill's events on interactions.v1 (duplicates kept), once there are ``at_least``."""

    def ours(records: list[object]) -> list[InteractionEvent]:
        events = [InteractionEvent.from_json(r.value) for r in records]  # type: ignore[attr-defined]
        return [e for e in events if e.provider == tag]

    records = await read_topic(
        bootstrap,
        INTERACTIONS_TOPIC,
        until=lambda rs: len(ours(rs)) >= at_least,
        timeout=60,
        settle=1.0,
    )
    return ours(records)
