"""Topics at start-up: created where the services may create them, checked where they may not."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from shared.kafka.connection import client_options
from shared.settings import PlatformSettings

__all__ = ["DLQ_SUFFIX", "dead_letter_topic", "ensure_topics"]

log = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"


def dead_letter_topic(topic: str) -> str:
    """Name of the dead-letter topic paired with ``topic``."""
    return f"{topic}{DLQ_SUFFIX}"


async def ensure_topics(settings: PlatformSettings, topics: Iterable[str]) -> list[str]:
    """Make sure each topic and its dead-letter twin exist; what is wrong, or nothing.

    With ``KAFKA_CREATE_TOPICS`` (the default) a missing topic is created with the configured
    partitions, replication and ``min.insync.replicas``. Without it nothing is created: the
    answer names each topic that is missing or has fewer partitions than configured.
    """
    wanted = {name for topic in topics for name in (topic, dead_letter_topic(topic))}
    if not wanted:
        return []
    admin = AIOKafkaAdminClient(
        **client_options(settings), request_timeout_ms=settings.kafka_request_timeout_ms
    )
    await admin.start()
    try:
        if not settings.kafka_create_topics:
            return await _problems(admin, sorted(wanted), settings.kafka_topic_partitions)
        missing = wanted - set(await admin.list_topics())
        if not missing:
            return []
        configs = {}
        if settings.kafka_min_insync_replicas is not None:
            configs["min.insync.replicas"] = str(settings.kafka_min_insync_replicas)
        new = [
            NewTopic(
                name,
                settings.kafka_topic_partitions,
                settings.kafka_replication_factor,
                topic_configs=configs,
            )
            for name in sorted(missing)
        ]
        # Another service may have created them first.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
        log.info("created topics", extra={"topics": sorted(missing)})
        return []
    finally:
        await admin.close()


async def _problems(admin: AIOKafkaAdminClient, names: list[str], partitions: int) -> list[str]:
    existing = set(await admin.list_topics())
    problems = [f"{name} is missing" for name in names if name not in existing]
    present = [name for name in names if name in existing]
    for described in await admin.describe_topics(present) if present else []:
        count = len(described.get("partitions", []))
        if count < partitions:
            problems.append(f"{described['topic']} has {count} partitions, fewer than {partitions}")
    if problems:
        log.warning("topics not as required", extra={"problems": problems})
    return problems
