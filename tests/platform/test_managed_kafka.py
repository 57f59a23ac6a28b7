"""A managed Kafka cluster: TLS and SASL reach every client, topics declared elsewhere are checked.

The TLS test puts a real TLS terminator in front of a broker that advertises it, so the
producer and the consumer only ever talk TLS, verified against a test CA. tansu has no SASL
on this machine's build, so the SASL test shows that the client opens the SASL handshake
(which a broker without SASL refuses), proving the settings reach the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from shared.kafka import EventProducer, OutgoingRecord, ensure_topics
from shared.kafka.connection import client_options
from shared.service import create_service_app
from shared.settings import PlatformSettings
from switchboard_dev.broker import tansu_command
from switchboard_dev.ports import free_port, wait_for_port
from tests.support.server import serving


def platform(**variables: str) -> PlatformSettings:
    """Platform settings as these environment variables give them."""
    return PlatformSettings.model_validate(variables)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.contextmanager
def broker_advertising(port: int) -> Iterator[int]:
    """A tansu on a port of its own that tells clients to connect to ``port``; its own port."""
    backend = free_port()
    command = tansu_command(backend)
    command[command.index("--advertised-listener-url") + 1] = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", backend)
        yield backend
    finally:
        process.terminate()
        process.wait(5)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
async def tls_broker(
    ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """A TLS-only address in front of a broker: what a managed cluster looks like."""
    port = free_port()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    with broker_advertising(port) as backend:

        async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

        server = await asyncio.start_server(relay, "127.0.0.1", port, ssl=server_context)
        async with server:
            yield f"127.0.0.1:{port}"


def ca_file(ca: trustme.CA, folder: Path) -> str:
    path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


async def test_tls_carries_every_record_verified_against_the_ca(
    tls_broker: str, ca: trustme.CA, tmp_path: Path
) -> None:
    settings = platform(
        KAFKA_BOOTSTRAP_SERVERS=tls_broker,
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CAFILE=ca_file(ca, tmp_path),
    )
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    producer = EventProducer(settings, topics=[topic])
    await producer.start(wait=True)
    try:
        await producer.publish_many([OutgoingRecord(topic, b"k", b"over TLS")])
        assert await producer.ping()
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, **client_options(settings), auto_offset_reset="earliest", request_timeout_ms=15_000
    )
    await consumer.start()
    try:
        records = await consumer.getmany(timeout_ms=10_000)
    finally:
        await consumer.stop()
    assert [r.value for batch in records.values() for r in batch] == [b"over TLS"]


async def test_tls_refuses_a_broker_the_ca_did_not_sign(tls_broker: str, tmp_path: Path) -> None:
    stranger = ca_file(trustme.CA(), tmp_path)
    settings = platform(
        KAFKA_BOOTSTRAP_SERVERS=tls_broker,
        KAFKA_SECURITY_PROTOCOL="SSL",
        KAFKA_SSL_CAFILE=stranger,
    )
    admin = AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=6000)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(admin.start(), 20)
    await admin.close()


async def test_sasl_settings_open_the_sasl_handshake(broker: str) -> None:
    settings = platform(
        KAFKA_BOOTSTRAP_SERVERS=broker,
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM="SCRAM-SHA-512",
        KAFKA_SASL_USERNAME="switchboard",
        KAFKA_SASL_PASSWORD="a-password",
    )
    options = client_options(settings)
    assert (options["sasl_mechanism"], options["sasl_plain_username"]) == (
        "SCRAM-SHA-512",
        "switchboard",
    )
    # The test broker speaks no SASL: a client that asks for it is refused at the handshake.
    admin = AIOKafkaAdminClient(**options, request_timeout_ms=6000)
    with pytest.raises(KafkaError):
        await asyncio.wait_for(admin.start(), 20)
    await admin.close()
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        platform(KAFKA_SECURITY_PROTOCOL="SASL_SSL")


async def test_topics_declared_elsewhere_are_checked_and_readyz_says_what_is_missing(
    broker: str, stack_env: None
) -> None:
    topic = f"declared-{uuid.uuid4().hex[:8]}"
    settings = platform(
        KAFKA_BOOTSTRAP_SERVERS=broker, KAFKA_CREATE_TOPICS="false", KAFKA_TOPIC_PARTITIONS="3"
    )
    app = create_service_app(name="declared", description="", topics=[topic], platform=settings)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as client:
        missing = await client.get("/readyz")
        admin = AIOKafkaAdminClient(bootstrap_servers=broker, request_timeout_ms=15_000)
        await admin.start()
        try:
            # The operator declares them, one with too few partitions.
            await admin.create_topics([NewTopic(topic, 3, 1), NewTopic(f"{topic}.dlq", 1, 1)])
            too_few = await client.get("/readyz")
            await admin.delete_topics([f"{topic}.dlq"])
            await admin.create_topics([NewTopic(f"{topic}.dlq", 3, 1)])
        finally:
            await admin.close()
        ready = await client.get("/readyz")
    assert missing.status_code == 503
    assert f"{topic} is missing" in missing.json()["checks"]["topics"]
    assert f"{topic}.dlq is missing" in missing.json()["checks"]["topics"]
    assert too_few.json()["checks"]["topics"] == f"{topic}.dlq has 1 partitions, fewer than 3"
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["topics"] == "ok"
    # Nothing was created by the service.
    assert await ensure_topics(settings, [topic]) == []


async def test_created_topics_take_min_insync_replicas(broker: str) -> None:
    topic = f"isr-{uuid.uuid4().hex[:8]}"
    settings = platform(KAFKA_BOOTSTRAP_SERVERS=broker, KAFKA_MIN_INSYNC_REPLICAS="2")
    assert await ensure_topics(settings, [topic]) == []
    admin = AIOKafkaAdminClient(bootstrap_servers=broker, request_timeout_ms=15_000)
    await admin.start()
    try:
        (described,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
    finally:
        await admin.close()
    (resource,) = described.resources
    entries = {entry[0]: entry[1] for entry in resource[4]}
    assert entries["min.insync.replicas"] == "2"
