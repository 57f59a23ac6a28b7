"""Erasure of a contact's personal data, published by routing on ``privacy.v1``."""

from __future__ import annotations

import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shared.events.interaction import Channel, UtcDatetime

__all__ = ["PRIVACY_TOPIC", "ErasedConversation", "ErasedIdentity", "ErasureEvent", "PrivacyStep"]

PRIVACY_TOPIC = "privacy.v1"


class PrivacyStep(StrEnum):
    CONTACT_ERASED = "contact.erased"


class ErasedConversation(BaseModel):
    """A conversation of the erased contact, as the connectors and metrics know it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversation_id: uuid.UUID
    conversation_key: str = Field(min_length=1, max_length=512)
    channel: Channel
    provider: str = Field(min_length=1, max_length=64)


class ErasedIdentity(BaseModel):
    """An identity of the erased contact: its namespace (``email``, ``phone``, or
    ``<channel>:<provider>:<kind>``) and its value (the address, number or provider id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str = Field(min_length=1, max_length=128)
    value: str = Field(min_length=1, max_length=512)


class ErasureEvent(BaseModel):
    """A contact was erased: every service erases what it holds of these conversations and
    identities. A contact with many conversations is announced in several parts, each its
    own event (``part`` of ``parts``) under the same ``erasure_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    schema_version: int = Field(default=1, ge=1, le=1)
    type: PrivacyStep = PrivacyStep.CONTACT_ERASED
    occurred_at: UtcDatetime
    erasure_id: uuid.UUID
    contact_id: uuid.UUID
    part: int = Field(default=1, ge=1)
    parts: int = Field(default=1, ge=1)
    conversations: list[ErasedConversation] = Field(default_factory=list)
    identities: list[ErasedIdentity] = Field(default_factory=list)

    @property
    def conversation_keys(self) -> list[str]:
        """The raw keys of the erased conversations, without repeats."""
        return sorted({c.conversation_key for c in self.conversations})

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> ErasureEvent:
        return cls.model_validate_json(data)
