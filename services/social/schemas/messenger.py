"""Messenger and Instagram webhooks: ``entry[].messaging[]`` items of a Meta delivery."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from services.social.schemas.common import EpochMillis, ProviderModel


class MetaParty(ProviderModel):
    id: str = Field(min_length=1)


class MetaAttachmentPayload(ProviderModel):
    url: str | None = None
    attachment_id: str | None = None
    sticker_id: str | None = None
    title: str | None = None
    coordinates: dict[str, float] | None = None


class MetaAttachment(ProviderModel):
    type: str = Field(min_length=1)
    payload: MetaAttachmentPayload | None = None


class MetaReplyTo(ProviderModel):
    mid: str | None = None
    story: dict[str, Any] | None = None


class MetaMessage(ProviderModel):
    mid: str = Field(min_length=1)
    text: str | None = None
    attachments: list[MetaAttachment] = []
    reply_to: MetaReplyTo | None = None
    is_echo: bool = False
    app_id: str | None = None
    quick_reply: dict[str, Any] | None = None


class MetaReaction(ProviderModel):
    mid: str = Field(min_length=1)
    action: str = "react"
    reaction: str | None = None
    emoji: str | None = None


class MetaDelivery(ProviderModel):
    mids: list[str] = []
    watermark: int | None = None


class MetaRead(ProviderModel):
    watermark: int | None = None
    mid: str | None = None


class MessagingItem(ProviderModel):
    """One item of ``messaging``: a message, reaction, delivery, read or another kind."""

    sender: MetaParty
    recipient: MetaParty
    timestamp: EpochMillis
    message: MetaMessage | None = None
    reaction: MetaReaction | None = None
    delivery: MetaDelivery | None = None
    read: MetaRead | None = None


class MetaChange(ProviderModel):
    field: str = Field(min_length=1)
    value: dict[str, Any] = {}


class MessagingEntry(ProviderModel):
    id: str = Field(min_length=1, description="The page or Instagram account id.")
    time: EpochMillis | None = None
    messaging: list[MessagingItem] = []
    changes: list[MetaChange] = []


class MessagingWebhook(ProviderModel):
    object: Literal["page", "instagram"]
    entry: list[MessagingEntry]
