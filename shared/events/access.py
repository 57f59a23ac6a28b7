"""Credential changes, published by routing on ``access.v1`` for the services that check tokens.

Routing owns agents and the tokens people and machines use; metrics (and any other
service that answers those tokens) keeps a copy of who holds which token from this
topic. Only the SHA-256 of a token travels: tokens are 256-bit random values, so the
hash identifies one without revealing it.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events.interaction import UtcDatetime

__all__ = ["ACCESS_TOPIC", "AccessEvent", "CredentialChange", "Role"]

ACCESS_TOPIC = "access.v1"


class Role(StrEnum):
    """What a token may do. Agents and supervisors are people; service and wall are machines."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    SERVICE = "service"
    WALL = "wall"


class CredentialChange(StrEnum):
    #: A token was issued, or its holder's role changed (the event repeats it in full).
    ISSUED = "credential.issued"
    REVOKED = "credential.revoked"


class AccessEvent(BaseModel):
    """One credential's state after a change; keyed by ``credential_id``, so in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    schema_version: int = Field(default=1, ge=1, le=1)
    type: CredentialChange
    occurred_at: UtcDatetime
    credential_id: uuid.UUID
    secret_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    role: Role
    agent_id: uuid.UUID | None = Field(
        default=None, description="The agent or supervisor the token belongs to; None for machines."
    )
    expires_at: UtcDatetime | None = None

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> AccessEvent:
        return cls.model_validate_json(data)
