"""Settings shared by every service: the broker, the database, logging.

Every field is an environment variable. The platform knobs below carry no
prefix because every service reads the same ones (``KAFKA_BOOTSTRAP_SERVERS``,
``DATABASE_URL``...); each service adds its own class with its own prefix.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["PlatformSettings", "ServiceSettings", "refuse_placeholder_secrets"]

#: Secrets that ship as development defaults; outside development they are refused.
PLACEHOLDER_PREFIX = "dev-"
#: What deploy/env.example puts in every secret, to be replaced.
EXAMPLE_PLACEHOLDERS = ("change-me", "changeme", "change_me")
#: Shorter secrets are refused in production: a token or HMAC key must not be guessable.
MIN_SECRET_LENGTH = 16


class PlatformSettings(BaseSettings):
    """Broker, database and logging settings common to all services."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: Literal["development", "production"] = Field(
        default="development", validation_alias="SWITCHBOARD_ENV"
    )
    log_level: str = Field(default="INFO", validation_alias="LOG_LEVEL")
    # uvicorn's access log (one line per request, token query values redacted).
    access_log: bool = Field(default=True, validation_alias="SWITCHBOARD_ACCESS_LOG")
    # The interactive API docs (/docs, /openapi.json): on in development, off in production
    # unless asked for.
    api_docs: bool | None = Field(default=None, validation_alias="SWITCHBOARD_API_DOCS")
    # With a token, /metrics answers only `Authorization: Bearer <token>`; in production
    # /metrics is off without one.
    scrape_token: SecretStr = Field(
        default=SecretStr(""), validation_alias="SWITCHBOARD_SCRAPE_TOKEN"
    )

    kafka_bootstrap_servers: str = Field(
        default="127.0.0.1:9092", validation_alias="KAFKA_BOOTSTRAP_SERVERS"
    )
    # A managed cluster: TLS (SSL), SASL, or both (SASL_SSL). Files are PEM.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", validation_alias="KAFKA_SECURITY_PROTOCOL"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="PLAIN", validation_alias="KAFKA_SASL_MECHANISM"
    )
    kafka_sasl_username: str = Field(default="", validation_alias="KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr = Field(
        default=SecretStr(""), validation_alias="KAFKA_SASL_PASSWORD"
    )
    kafka_ssl_cafile: str = Field(default="", validation_alias="KAFKA_SSL_CAFILE")
    kafka_ssl_certfile: str = Field(default="", validation_alias="KAFKA_SSL_CERTFILE")
    kafka_ssl_keyfile: str = Field(default="", validation_alias="KAFKA_SSL_KEYFILE")
    kafka_ssl_key_password: SecretStr = Field(
        default=SecretStr(""), validation_alias="KAFKA_SSL_KEY_PASSWORD"
    )
    # Off on a cluster whose topics are declared elsewhere: the services then only check that
    # theirs exist with enough partitions, and say in /readyz what is missing.
    kafka_create_topics: bool = Field(default=True, validation_alias="KAFKA_CREATE_TOPICS")
    # min.insync.replicas of the topics the services create (None: the broker's default).
    kafka_min_insync_replicas: int | None = Field(
        default=None, ge=1, validation_alias="KAFKA_MIN_INSYNC_REPLICAS"
    )
    # Apache Kafka supports the idempotent producer; the embedded tansu broker refuses it.
    kafka_enable_idempotence: bool = Field(
        default=False, validation_alias="KAFKA_ENABLE_IDEMPOTENCE"
    )
    kafka_linger_ms: int = Field(default=0, ge=0, validation_alias="KAFKA_LINGER_MS")
    kafka_max_batch_bytes: int = Field(
        default=262_144, ge=1024, validation_alias="KAFKA_MAX_BATCH_BYTES"
    )
    # The largest request the producer sends; a record above it is refused before sending
    # (Apache Kafka's default message.max.bytes is about the same).
    kafka_max_request_size: int = Field(
        default=1_048_576, ge=1024, validation_alias="KAFKA_MAX_REQUEST_SIZE"
    )
    kafka_compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        default="none", validation_alias="KAFKA_COMPRESSION"
    )
    kafka_topic_partitions: int = Field(default=6, ge=1, validation_alias="KAFKA_TOPIC_PARTITIONS")
    kafka_replication_factor: int = Field(
        default=1, ge=1, validation_alias="KAFKA_REPLICATION_FACTOR"
    )
    # tansu holds a JoinGroup for about 5 s: requests must be allowed longer than that.
    kafka_request_timeout_ms: int = Field(
        default=15_000, ge=6000, validation_alias="KAFKA_REQUEST_TIMEOUT_MS"
    )
    kafka_session_timeout_ms: int = Field(
        default=10_000, ge=6000, validation_alias="KAFKA_SESSION_TIMEOUT_MS"
    )
    # How long a webhook waits for the broker's acknowledgement before answering 503.
    kafka_publish_timeout_s: float = Field(
        default=5.0, gt=0, validation_alias="KAFKA_PUBLISH_TIMEOUT_S"
    )
    # A consumer with lag that has not moved for this long rebuilds itself.
    kafka_stall_timeout_s: float = Field(
        default=20.0, gt=0, validation_alias="KAFKA_STALL_TIMEOUT_S"
    )

    database_url: str = Field(
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/switchboard",
        validation_alias="DATABASE_URL",
    )
    database_pool_size: int = Field(default=20, ge=1, validation_alias="DATABASE_POOL_SIZE")

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def serves_api_docs(self) -> bool:
        return self.is_development if self.api_docs is None else self.api_docs

    @model_validator(mode="after")
    def _require_sasl_credentials(self) -> PlatformSettings:
        if self.kafka_security_protocol.startswith("SASL_") and not self.kafka_sasl_username:
            raise ValueError(
                f"KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"
            )
        return self

    @model_validator(mode="after")
    def _refuse_weak_scrape_token(self) -> PlatformSettings:
        token = self.scrape_token.get_secret_value()
        if token and not self.is_development and (problem := secret_weakness(token)):
            raise ValueError(f"SWITCHBOARD_SCRAPE_TOKEN {problem}")
        return self


class ServiceSettings(BaseSettings):
    """Base for a service's own settings: subclasses set ``env_prefix``."""

    model_config = SettingsConfigDict(extra="ignore")

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> ServiceSettings:
        refuse_placeholder_secrets(self, PlatformSettings())
        return self


def refuse_placeholder_secrets(settings: BaseSettings, platform: PlatformSettings) -> None:
    """Raise ``ValueError`` naming the variable when a secret is weak in production.

    Weak is: a development default (``dev-...``), the example file's ``change-me``, empty,
    or shorter than ``MIN_SECRET_LENGTH`` characters. A secret whose default is empty is an
    optional feature (empty turns it off), so it may stay empty, but not be weak when set.
    """
    if platform.is_development:
        return
    fields = type(settings).model_fields
    for name, value in settings:
        if not isinstance(value, SecretStr):
            continue
        default = fields[name].default
        optional = isinstance(default, SecretStr) and not default.get_secret_value()
        secret = value.get_secret_value()
        if optional and not secret:
            continue
        # A token setting may list several during a rotation: each must be strong.
        parts = secret.split(",") if name.endswith("_token") else [secret]
        problem = next(filter(None, map(secret_weakness, parts)), None)
        if problem is not None:
            prefix = settings.model_config.get("env_prefix", "")
            alias = fields[name].validation_alias
            variable = alias if isinstance(alias, str) else f"{prefix}{name}".upper()
            raise ValueError(
                f"{variable} {problem}; set a strong secret (at least {MIN_SECRET_LENGTH} "
                "characters) when SWITCHBOARD_ENV=production"
            )


def secret_weakness(secret: str) -> str | None:
    """Why ``secret`` must not be used in production, or None when it may."""
    if not secret.strip():
        return "is empty"
    if secret.startswith(PLACEHOLDER_PREFIX):
        return "still holds its development placeholder"
    if any(word in secret.lower() for word in EXAMPLE_PLACEHOLDERS):
        return "still holds the example file's change-me placeholder"
    if len(secret) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    return None
