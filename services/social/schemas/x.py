"""X Account Activity deliveries, and the answer to X's challenge-response check."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from services.social.schemas.common import EpochMillis, ProviderModel


class XUser(ProviderModel):
    id: str = Field(min_length=1)
    name: str | None = None
    screen_name: str | None = None


class XMessageData(ProviderModel):
    text: str | None = None
    attachment: dict[str, Any] | None = None


class XTarget(ProviderModel):
    recipient_id: str = Field(min_length=1)


class XMessageCreate(ProviderModel):
    target: XTarget
    sender_id: str = Field(min_length=1)
    source_app_id: str | None = None
    message_data: XMessageData


class XDirectMessage(ProviderModel):
    type: str = Field(min_length=1)
    id: str = Field(min_length=1)
    created_timestamp: EpochMillis
    message_create: XMessageCreate | None = None


class XMarkRead(ProviderModel):
    created_timestamp: EpochMillis
    sender_id: str = Field(min_length=1)
    target: XTarget
    last_read_event_id: str = Field(min_length=1)


class XActivity(ProviderModel):
    """One Account Activity delivery; ``*_events`` arrays we do not model stay in extras."""

    for_user_id: str = Field(min_length=1, description="Our own account.")
    direct_message_events: list[XDirectMessage] = []
    direct_message_mark_read_events: list[XMarkRead] = []
    direct_message_indicate_typing_events: list[dict[str, Any]] = []
    users: dict[str, XUser] = {}


class CrcResponse(BaseModel):
    response_token: str
