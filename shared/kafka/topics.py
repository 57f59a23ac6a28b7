"""Topic creation at start-up."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.settings import PlatformSettings

__all__ = ["DLQ_SUFFIX", "dead_letter_topic", "ensure_topics"]

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """Name of the dead-letter topic paired with ``topic``."""
    return f"{topic}{DLQ_SUFFIX}"


async def ensure_topics(settings: PlatformSettings, topics: Iterable[str]) -> None:
    """Create each topic and its dead-letter twin when missing, with the configured partitions."""
    wanted = {name for topic in topics for name in (topic, dead_letter_topic(topic))}
    if not wanted:
        return
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=settings.kafka_request_timeout_ms,
    )
    await admin.start()
    try:
        missing = wanted - set(await admin.list_topics())
        if not missing:
            return
        new = [
            NewTopic(name, settings.kafka_topic_partitions, settings.kafka_replication_factor)
            for name in sorted(missing)
        ]
        # Another service may have created them first.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
        log.info("created topics", extra={"topics": sorted(missing)})
    finally:
        await admin.close()
