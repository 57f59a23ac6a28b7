"""Request checks the connectors share, as FastAPI dependencies: the generic webhooks.

A generic webhook (chat's ``/webhooks/generic``, phone's ``/calls``) is signed the
Standard Webhooks way with a partner's key, and each key names the ``source`` values its
partner may post as: a partner cannot write as a built-in provider (``telegram``,
``webchat``...) nor as another partner, whose conversation keys and call ids it would
then reach.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Header, Request
from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings

from shared.clock import utc_now
from shared.errors import Forbidden, Unauthorized
from shared.service import get_runtime, read_body
from shared.settings import PlatformSettings, secret_weakness
from shared.signatures import (
    signatures_match,
    switchboard_signature,
    verify_standard_webhook,
    webhook_key,
)

__all__ = [
    "BUILT_IN_PROVIDERS",
    "GenericDelivery",
    "GenericKey",
    "GenericKeys",
    "GenericWebhookSettings",
    "generic_webhook",
]

#: Providers the connectors publish as themselves: no generic source may take their names.
BUILT_IN_PROVIDERS = frozenset(
    {
        "mailgun",
        "sendgrid",
        "postmark",
        "mime",
        "messenger",
        "instagram",
        "whatsapp",
        "x",
        "telegram",
        "slack",
        "webchat",
        "twilio_voice",
        "twilio_sms",
        "asterisk",
        "routing",
        "switchboard-survey",
    }
)
#: Any source no other key names and no built-in provider uses.
ANY_SOURCE = "*"
_SOURCE = re.compile(r"[a-z0-9_\-]{1,40}")
_KEY_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,100}")
#: The name of the key whose secret is ``<PREFIX>GENERIC_SECRET``.
DEFAULT_KEY = "default"


@dataclass(frozen=True)
class GenericKey:
    """One partner's key: its name, its HMAC key and the sources it may post as."""

    name: str
    key: bytes
    sources: frozenset[str]


@dataclass(frozen=True)
class GenericKeys:
    """Every key of a generic webhook."""

    keys: tuple[GenericKey, ...]

    @property
    def named_sources(self) -> frozenset[str]:
        """Sources some key names outright: they are that key's alone."""
        return frozenset(s for k in self.keys for s in k.sources if s != ANY_SOURCE)

    def by_name(self) -> dict[str, GenericKey]:
        return {k.name: k for k in self.keys}

    def allows(self, key: GenericKey, source: str) -> bool:
        """Whether ``key`` may post as ``source``."""
        if source in BUILT_IN_PROVIDERS:
            return False
        if source in key.sources:
            return True
        return ANY_SOURCE in key.sources and source not in self.named_sources


class _KeyEntry(BaseModel):
    secret: str = Field(min_length=1)
    sources: list[str] = Field(min_length=1)


def _checked_sources(name: str, sources: Iterable[str]) -> frozenset[str]:
    found = frozenset(s.strip() for s in sources if s.strip())
    for source in found:
        if source != ANY_SOURCE and not _SOURCE.fullmatch(source):
            raise ValueError(f"generic key {name!r}: source {source!r} is not a source name")
        if source in BUILT_IN_PROVIDERS:
            raise ValueError(f"generic key {name!r}: {source!r} is a built-in provider")
    if not found:
        raise ValueError(f"generic key {name!r} names no source")
    return found


class GenericWebhookSettings(BaseSettings):
    """Settings of a connector's generic webhook (the connector's prefix in front of each)."""

    generic_secret: SecretStr
    generic_secret_sources: str = Field(
        default=ANY_SOURCE,
        description="Comma-separated sources the key of GENERIC_SECRET may post as; *: any "
        "source that no key of GENERIC_SOURCES names and no built-in provider uses.",
    )
    generic_sources: SecretStr = Field(
        default=SecretStr(""),
        description='More partners\' keys, as JSON: {"<key name>": {"secret": '
        '"whsec_<base64>", "sources": ["<source>", ...]}}; each source belongs to one key.',
    )
    generic_legacy_signature: bool | None = Field(
        default=None,
        description="Also accept X-Switchboard-Signature (sha256=<hex HMAC of the body>, no "
        "timestamp, so replayable); unset: on in development, off in production.",
    )

    _generic_keys: GenericKeys | None = PrivateAttr(default=None)
    _development: bool = PrivateAttr(default=True)

    @model_validator(mode="after")
    def _check_generic_keys(self) -> GenericWebhookSettings:
        self._development = PlatformSettings().is_development
        self._generic_keys = self._read_generic_keys()
        return self

    def generic_keys(self) -> GenericKeys:
        """Every key of the generic webhook, read once when the settings are."""
        if self._generic_keys is None:
            self._generic_keys = self._read_generic_keys()
        return self._generic_keys

    def _read_generic_keys(self) -> GenericKeys:
        """The keys, checked: sources well formed and each named by one key, secrets strong
        in production; ``ValueError`` naming the problem otherwise."""
        keys = [
            GenericKey(
                name=DEFAULT_KEY,
                key=webhook_key(self.generic_secret.get_secret_value()),
                sources=_checked_sources(DEFAULT_KEY, self.generic_secret_sources.split(",")),
            )
        ]
        raw = self.generic_sources.get_secret_value().strip()
        try:
            loaded: Any = json.loads(raw) if raw else {}
            if not isinstance(loaded, dict):
                raise ValueError("GENERIC_SOURCES must be a JSON object of keys")
            entries = {str(n): _KeyEntry.model_validate(e) for n, e in loaded.items()}
        except (ValueError, ValidationError) as exc:
            raise ValueError(f"GENERIC_SOURCES is not valid: {exc}") from None
        for name, entry in entries.items():
            if not _KEY_NAME.fullmatch(name):
                raise ValueError(f"generic key name {name!r} is not 1-100 of A-Z a-z 0-9 _ . -")
            if name == DEFAULT_KEY:
                raise ValueError(f"generic key {DEFAULT_KEY!r} is GENERIC_SECRET's name")
            weakness = secret_weakness(entry.secret)
            if not self._development and weakness is not None:
                raise ValueError(f"the secret of generic key {name!r} {weakness}")
            keys.append(
                GenericKey(
                    name=name,
                    key=webhook_key(entry.secret),
                    sources=_checked_sources(name, entry.sources),
                )
            )
        named = [s for k in keys for s in k.sources if s != ANY_SOURCE]
        shared = sorted({s for s in named if named.count(s) > 1})
        if shared:
            raise ValueError(f"sources named by more than one generic key: {shared}")
        return GenericKeys(tuple(keys))

    @property
    def legacy_signature_accepted(self) -> bool:
        """Whether ``X-Switchboard-Signature`` is accepted: as set, else in development only."""
        if self.generic_legacy_signature is not None:
            return self.generic_legacy_signature
        return self._development


class GenericSourceSettings(Protocol):
    """What a connector's settings hold for its generic webhook."""

    def generic_keys(self) -> GenericKeys: ...

    @property
    def legacy_signature_accepted(self) -> bool: ...

    @property
    def max_body_bytes(self) -> int: ...


@dataclass(frozen=True)
class GenericDelivery:
    """A generic webhook request whose signature held: its body, the key that signed it and
    its ``webhook-id`` (None for the legacy signature, which has none)."""

    body: bytes
    key: GenericKey
    keys: GenericKeys
    webhook_id: str | None

    def require_source(self, source: str) -> None:
        """403 unless the key that signed the request may post as ``source``."""
        if not self.keys.allows(self.key, source):
            raise Forbidden(
                f"the key {self.key.name!r} may not post as source {source!r}",
                detail={"key": self.key.name, "source": source},
            )


def _legacy_key(keys: GenericKeys, body: bytes, given: str) -> GenericKey:
    for key in keys.keys:
        if signatures_match(switchboard_signature(key.key, body), given):
            return key
    raise Unauthorized("X-Switchboard-Signature does not match the body")


def generic_webhook(
    settings_type: type[GenericSourceSettings],
) -> Callable[..., Awaitable[GenericDelivery]]:
    """A dependency giving a generic webhook request whose signature holds (401 otherwise).

    The body is read up to the connector's ``max_body_bytes`` (413 past it) before any
    signature is computed. Standard Webhooks headers are checked when present; the legacy
    ``X-Switchboard-Signature`` only when the connector accepts it.
    """

    async def verified(
        request: Request,
        webhook_id: Annotated[str | None, Header()] = None,
        webhook_timestamp: Annotated[str | None, Header()] = None,
        webhook_signature: Annotated[str | None, Header()] = None,
        x_switchboard_signature: Annotated[str | None, Header()] = None,
    ) -> GenericDelivery:
        settings = (await get_runtime(request)).get(settings_type)
        body = await read_body(request, settings.max_body_bytes)
        keys = settings.generic_keys()
        standard = webhook_id or webhook_timestamp or webhook_signature
        if x_switchboard_signature is not None and not standard:
            if not settings.legacy_signature_accepted:
                raise Unauthorized(
                    "X-Switchboard-Signature is not accepted here: sign with webhook-id, "
                    "webhook-timestamp and webhook-signature (Standard Webhooks)"
                )
            key = _legacy_key(keys, body, x_switchboard_signature)
            return GenericDelivery(body=body, key=key, keys=keys, webhook_id=None)
        name = verify_standard_webhook(
            {k.name: k.key for k in keys.keys},
            body=body,
            msg_id=webhook_id,
            timestamp=webhook_timestamp,
            signatures=webhook_signature,
            now=utc_now(),
        )
        return GenericDelivery(
            body=body, key=keys.by_name()[name], keys=keys, webhook_id=webhook_id
        )

    return verified
