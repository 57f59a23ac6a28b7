"""Webhook bodies of the social providers, and the connector's answers.

Providers add fields and event kinds without notice, so every model keeps
unknown fields (``extra="allow"``): a kind we do not know yet is still
published, with its kind named, instead of being dropped.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from shared.errors import BadRequest, invalid_body

#: The latest second a ``datetime`` can hold (9999-12-31T23:59:59Z): a later time stamp is a
#: malformed payload, refused with a 400 rather than failing in the parser.
LATEST_EPOCH_S = 253_402_300_799

EpochSeconds = Annotated[int, Field(ge=0, le=LATEST_EPOCH_S)]
EpochMillis = Annotated[int, Field(ge=0, le=LATEST_EPOCH_S * 1000 + 999)]


class _Provider(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)


# --- Meta: Messenger and Instagram (``entry[].messaging[]``) ---------------------------------


class MetaParty(_Provider):
    id: str = Field(min_length=1)


class MetaAttachmentPayload(_Provider):
    url: str | None = None
    attachment_id: str | None = None
    sticker_id: str | None = None
    title: str | None = None
    coordinates: dict[str, float] | None = None


class MetaAttachment(_Provider):
    type: str = Field(min_length=1)
    payload: MetaAttachmentPayload | None = None


class MetaReplyTo(_Provider):
    mid: str | None = None
    story: dict[str, Any] | None = None


class MetaMessage(_Provider):
    mid: str = Field(min_length=1)
    text: str | None = None
    attachments: list[MetaAttachment] = []
    reply_to: MetaReplyTo | None = None
    is_echo: bool = False
    app_id: str | None = None
    quick_reply: dict[str, Any] | None = None


class MetaReaction(_Provider):
    mid: str = Field(min_length=1)
    action: str = "react"
    reaction: str | None = None
    emoji: str | None = None


class MetaDelivery(_Provider):
    mids: list[str] = []
    watermark: int | None = None


class MetaRead(_Provider):
    watermark: int | None = None
    mid: str | None = None


class MessagingItem(_Provider):
    """One item of ``messaging``: a message, reaction, delivery, read or another kind."""

    sender: MetaParty
    recipient: MetaParty
    timestamp: EpochMillis
    message: MetaMessage | None = None
    reaction: MetaReaction | None = None
    delivery: MetaDelivery | None = None
    read: MetaRead | None = None


class MetaChange(_Provider):
    field: str = Field(min_length=1)
    value: dict[str, Any] = {}


class MessagingEntry(_Provider):
    id: str = Field(min_length=1, description="The page or Instagram account id.")
    time: EpochMillis | None = None
    messaging: list[MessagingItem] = []
    changes: list[MetaChange] = []


class MessagingWebhook(_Provider):
    object: Literal["page", "instagram"]
    entry: list[MessagingEntry]


# --- Meta: WhatsApp Cloud API (``entry[].changes[].value``) ----------------------------------


class WhatsAppProfile(_Provider):
    name: str | None = None


class WhatsAppContact(_Provider):
    wa_id: str = Field(min_length=1)
    profile: WhatsAppProfile | None = None


class WhatsAppMetadata(_Provider):
    display_phone_number: str | None = None
    phone_number_id: str = Field(min_length=1)


class WhatsAppMedia(_Provider):
    id: str = Field(min_length=1)
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None


class WhatsAppLocation(_Provider):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class WhatsAppReaction(_Provider):
    message_id: str = Field(min_length=1)
    emoji: str | None = None


class WhatsAppText(_Provider):
    body: str


class WhatsAppContext(_Provider):
    id: str | None = None
    from_: str | None = Field(default=None, alias="from")


class WhatsAppMessage(_Provider):
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


class WhatsAppError(_Provider):
    code: int | None = None
    title: str | None = None


class WhatsAppStatus(_Provider):
    id: str = Field(min_length=1)
    status: str = Field(min_length=1)
    timestamp: EpochSeconds
    recipient_id: str = Field(min_length=1)
    conversation: dict[str, Any] | None = None
    errors: list[WhatsAppError] = []


class WhatsAppValue(_Provider):
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


class WhatsAppChange(_Provider):
    field: str = Field(min_length=1)
    value: WhatsAppValue


class WhatsAppEntry(_Provider):
    id: str = Field(min_length=1, description="The WhatsApp Business Account id.")
    changes: list[WhatsAppChange]


class WhatsAppWebhook(_Provider):
    object: Literal["whatsapp_business_account"]
    entry: list[WhatsAppEntry]


MetaWebhook = MessagingWebhook | WhatsAppWebhook


# --- X Account Activity -----------------------------------------------------------------------


class XUser(_Provider):
    id: str = Field(min_length=1)
    name: str | None = None
    screen_name: str | None = None


class XMessageData(_Provider):
    text: str | None = None
    attachment: dict[str, Any] | None = None


class XTarget(_Provider):
    recipient_id: str = Field(min_length=1)


class XMessageCreate(_Provider):
    target: XTarget
    sender_id: str = Field(min_length=1)
    source_app_id: str | None = None
    message_data: XMessageData


class XDirectMessage(_Provider):
    type: str = Field(min_length=1)
    id: str = Field(min_length=1)
    created_timestamp: EpochMillis
    message_create: XMessageCreate | None = None


class XMarkRead(_Provider):
    created_timestamp: EpochMillis
    sender_id: str = Field(min_length=1)
    target: XTarget
    last_read_event_id: str = Field(min_length=1)


class XActivity(_Provider):
    """One Account Activity delivery; ``*_events`` arrays we do not model stay in extras."""

    for_user_id: str = Field(min_length=1, description="Our own account.")
    direct_message_events: list[XDirectMessage] = []
    direct_message_mark_read_events: list[XMarkRead] = []
    direct_message_indicate_typing_events: list[dict[str, Any]] = []
    users: dict[str, XUser] = {}


# --- Telegram Bot API -------------------------------------------------------------------------


class TelegramUser(_Provider):
    id: int
    is_bot: bool = False
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TelegramChat(_Provider):
    id: int
    type: str | None = None


class TelegramFile(_Provider):
    file_id: str = Field(min_length=1)
    file_unique_id: str | None = None
    file_size: int | None = None
    file_name: str | None = None
    mime_type: str | None = None


class TelegramLocation(_Provider):
    latitude: float
    longitude: float


class TelegramContact(_Provider):
    phone_number: str
    first_name: str | None = None
    last_name: str | None = None
    user_id: int | None = None


class TelegramReplied(_Provider):
    message_id: int


class TelegramMessage(_Provider):
    message_id: int
    date: EpochSeconds
    chat: TelegramChat
    from_: TelegramUser | None = Field(default=None, alias="from")
    edit_date: EpochSeconds | None = None
    text: str | None = None
    caption: str | None = None
    photo: list[TelegramFile] = []
    audio: TelegramFile | None = None
    voice: TelegramFile | None = None
    video: TelegramFile | None = None
    video_note: TelegramFile | None = None
    document: TelegramFile | None = None
    sticker: TelegramFile | None = None
    location: TelegramLocation | None = None
    contact: TelegramContact | None = None
    reply_to_message: TelegramReplied | None = None


class TelegramReaction(_Provider):
    chat: TelegramChat
    message_id: int
    date: EpochSeconds
    user: TelegramUser | None = None
    new_reaction: list[dict[str, Any]] = []


class TelegramUpdate(_Provider):
    update_id: int
    message: TelegramMessage | None = None
    edited_message: TelegramMessage | None = None
    message_reaction: TelegramReaction | None = None


# --- Answers ----------------------------------------------------------------------------------


class Accepted(BaseModel):
    event_ids: list[str]


class CrcResponse(BaseModel):
    response_token: str


# --- Parsing ----------------------------------------------------------------------------------

Model = TypeVar("Model", bound=BaseModel)

_META_MODELS: dict[str, type[MessagingWebhook] | type[WhatsAppWebhook]] = {
    "page": MessagingWebhook,
    "instagram": MessagingWebhook,
    "whatsapp_business_account": WhatsAppWebhook,
}


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(
            "body is not valid JSON", detail=[{"field": "body", "problem": str(exc)}]
        ) from None
    if not isinstance(document, dict):
        raise BadRequest(
            "body must be a JSON object", detail=[{"field": "body", "problem": "not an object"}]
        )
    return document


def parse(model: type[Model], body: bytes) -> Model:
    """The body as ``model``; 400 naming the fields when it is not JSON or not that shape."""
    try:
        return model.model_validate(_json_object(body))
    except ValidationError as exc:
        raise invalid_body(exc, f"body is not a valid {model.__name__}") from None


def parse_meta(body: bytes) -> MetaWebhook:
    """A Meta webhook, shaped by its ``object`` (page, instagram, whatsapp_business_account)."""
    document = _json_object(body)
    kind = document.get("object")
    model = _META_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        expected = ", ".join(_META_MODELS)
        raise BadRequest(
            "unsupported Meta webhook object",
            detail=[{"field": "object", "problem": f"must be one of {expected}; got {kind!r}"}],
        )
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise invalid_body(exc, f"body is not a valid {kind} webhook") from None
