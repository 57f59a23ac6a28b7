"""Real parts for every test: the embedded broker and a fresh Postgres database.

Set ``KAFKA_BOOTSTRAP_SERVERS`` or ``DATABASE_URL`` to run against your own;
otherwise the suite starts tansu itself and creates (then drops) its own
database on the local Postgres, or on an embedded one when none answers.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import settings as hypothesis_settings

from shared.db import Database
from shared.kafka import EventProducer
from shared.settings import PlatformSettings
from switchboard_dev import migrations
from switchboard_dev.broker import Broker
from switchboard_dev.postgres import create_database, drop_database, locate_postgres

pytest_plugins = ["tests.support.fixtures"]

# Property tests draw the same examples on every run (seeded from each test), so the suite
# passes or fails on the code alone; `make fuzz` draws new ones each time, to find more.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(scope="session")
def broker() -> Iterator[str]:
    """Bootstrap address of the broker every test shares."""
    if external := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield external
        return
    with Broker.running() as embedded:
        yield embedded.bootstrap


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url, embedded = locate_postgres()
    try:
        yield url
    finally:
        if embedded is not None:
            embedded.stop()


@pytest.fixture(scope="session")
async def database_url(pg_admin_url: str) -> AsyncIterator[str]:
    """A database of its own for this test session, migrated to head, dropped at the end."""
    name = f"switchboard_test_{uuid.uuid4().hex[:12]}"
    url = await create_database(pg_admin_url, name)
    await asyncio.to_thread(migrations.upgrade, url)
    try:
        yield url
    finally:
        await drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def stack_env(broker: str, database_url: str) -> Iterator[None]:
    """Point every service the tests build at the test broker and database."""
    saved = {k: os.environ.get(k) for k in ("KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL")}
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker
    os.environ["DATABASE_URL"] = database_url
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def platform(broker: str, database_url: str) -> PlatformSettings:
    return PlatformSettings(
        KAFKA_BOOTSTRAP_SERVERS=broker,
        DATABASE_URL=database_url,
        KAFKA_STALL_TIMEOUT_S=8,
    )


@pytest.fixture(scope="session")
async def producer(platform: PlatformSettings) -> AsyncIterator[EventProducer]:
    producer = EventProducer(platform)
    await producer.start(wait=True)
    try:
        yield producer
    finally:
        await producer.stop()


@pytest.fixture(scope="session")
async def database(platform: PlatformSettings) -> AsyncIterator[Database]:
    database = Database(platform)
    try:
        yield database
    finally:
        await database.close()
