"""Request checks the connectors share, as FastAPI dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

from fastapi import Header, Request
from pydantic import SecretStr

from shared.service import get_runtime, read_body
from shared.signatures import require_signature, switchboard_signature

__all__ = ["GenericSourceSettings", "switchboard_signed_body"]


class GenericSourceSettings(Protocol):
    """What a connector's settings hold for its generic webhook."""

    @property
    def generic_secret(self) -> SecretStr: ...

    @property
    def max_body_bytes(self) -> int: ...


def switchboard_signed_body(
    settings_type: type[GenericSourceSettings],
) -> Callable[..., Awaitable[bytes]]:
    """A dependency giving the raw body of a generic webhook whose ``X-Switchboard-Signature``
    is ``sha256=<hex HMAC-SHA256(generic secret, body)>``.

    The body is read up to the connector's ``max_body_bytes`` (413 past it) before the
    signature is computed; a missing or wrong signature answers 401.
    """

    async def signed_body(
        request: Request, x_switchboard_signature: Annotated[str | None, Header()] = None
    ) -> bytes:
        settings = (await get_runtime(request)).get(settings_type)
        body = await read_body(request, settings.max_body_bytes)
        expected = switchboard_signature(settings.generic_secret.get_secret_value(), body)
        require_signature(expected, x_switchboard_signature, header="X-Switchboard-Signature")
        return body

    return signed_body
