"""A consumer process that dies right after its first batch is processed, before the commit.

``python -m tests.support.crashing_consumer TOPIC GROUP`` with KAFKA_BOOTSTRAP_SERVERS and
DATABASE_URL set. It exits with status 3 the moment the handler's transaction
committed, so the offset is never committed: exactly a crash between the two.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence

from shared.db import Database
from shared.events import InteractionEvent
from shared.kafka import ConsumerLoop, EventProducer
from shared.settings import PlatformSettings
from tests.support.ledger import count_events

CRASHED = 3


async def main(topic: str, group: str) -> None:
    settings = PlatformSettings(KAFKA_SESSION_TIMEOUT_MS=6000)
    database = Database(settings)
    producer = EventProducer(settings)
    await producer.start(wait=True)

    async def handle(events: Sequence[InteractionEvent]) -> None:
        await count_events(database, events)
        sys.stdout.flush()
        os._exit(CRASHED)

    loop = ConsumerLoop(
        settings=settings,
        group_id=group,
        decoders={topic: InteractionEvent.from_json},
        handle=handle,
        producer=producer,
    )
    await asyncio.wait_for(loop.run(), 60)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
