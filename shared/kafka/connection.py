"""How every Kafka client connects: the bootstrap servers and, on a managed cluster, TLS and SASL.

Producers, consumers, admin clients and the developer tools all take their connection
options from here, so a setting reaches every client at once.
"""

from __future__ import annotations

import ssl
from typing import Any

from aiokafka.helpers import create_ssl_context

from shared.settings import PlatformSettings

__all__ = ["client_options"]


def _ssl_context(settings: PlatformSettings) -> ssl.SSLContext:
    password = settings.kafka_ssl_key_password.get_secret_value() or None
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.kafka_ssl_cafile or None,
        certfile=settings.kafka_ssl_certfile or None,
        keyfile=settings.kafka_ssl_keyfile or None,
        password=password,
    )
    return context


def client_options(settings: PlatformSettings) -> dict[str, Any]:
    """The keyword arguments of an aiokafka client for the configured cluster."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": protocol,
    }
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = _ssl_context(settings)
    if protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password.get_secret_value()
    return options
