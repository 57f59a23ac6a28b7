"""WhatsApp Cloud API webhooks: ``entry[].changes[].value`` of a Meta delivery."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from services.social.schemas.common import EpochSeconds, ProviderModel


class WhatsAppProfile(ProviderModel):
    name: str | None = None


class WhatsAppContact(ProviderModel):
    wa_id: str = Field(min_length=1)
    profile: WhatsAppProfile | None = None


class WhatsAppMetadata(ProviderModel):
    display_phone_number: str | None = None
    phone_number_id: str = Field(min_length=1)


class WhatsAppMedia(ProviderModel):
    id: str = Field(min_length=1)
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class WhatsAppLocation(ProviderModel):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class WhatsAppReaction(ProviderModel):
    message_id: str = Field(min_length=1)
    emoji: str | None = None


class WhatsAppText(ProviderModel):
    body: str


class WhatsAppContext(ProviderModel):
    id: str | None = None
    from_: str | None = Field(default=None, alias="from")


class WhatsAppMessage(ProviderModel):
    from_: str = Field(alias="from", min_length=1)
    id: str = Field(min_length=1)
    timestamp: EpochSeconds
    type: str = Field(min_length=1)
    text: WhatsAppText | None = None
    image: WhatsAppMedia | None = None
    audio: WhatsAppMedia | None = None
    video: WhatsAppMedia | None = None
    document: WhatsAppMedia | None = None
    sticker: WhatsAppMedia | None = None
    location: WhatsAppLocation | None = None
    contacts: list[dict[str, Any]] | None = None
    reaction: WhatsAppReaction | None = None
    context: WhatsAppContext | None = None


class WhatsAppError(ProviderModel):
    code: int | None = None
    title: str | None = None


class WhatsAppStatus(ProviderModel):
    id: str = Field(min_length=1)
    status: str = Field(min_length=1)
    timestamp: EpochSeconds
    recipient_id: str = Field(min_length=1)
    conversation: dict[str, Any] | None = None
    errors: list[WhatsAppError] = []


class WhatsAppValue(ProviderModel):
    messaging_product: str | None = None
    metadata: WhatsAppMetadata | None = None
    contacts: list[WhatsAppContact] = []
    messages: list[WhatsAppMessage] = []
    statuses: list[WhatsAppStatus] = []

    @model_validator(mode="after")
    def _metadata_names_our_number(self) -> WhatsAppValue:
        if (self.messages or self.statuses) and self.metadata is None:
            raise ValueError("metadata (our phone_number_id) is required with messages or statuses")
        return self


class WhatsAppChange(ProviderModel):
    field: str = Field(min_length=1)
    value: WhatsAppValue


class WhatsAppEntry(ProviderModel):
    id: str = Field(min_length=1, description="The WhatsApp Business Account id.")
    changes: list[WhatsAppChange]


class WhatsAppWebhook(ProviderModel):
    object: Literal["whatsapp_business_account"]
    entry: list[WhatsAppEntry]
