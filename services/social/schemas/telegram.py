"""Telegram Bot API updates."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from services.social.schemas.common import EpochSeconds, ProviderModel


class TelegramUser(ProviderModel):
    id: int
    is_bot: bool = False
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TelegramChat(ProviderModel):
    id: int
    type: str | None = None


class TelegramFile(ProviderModel):
    file_id: str = Field(min_length=1)
    file_unique_id: str | None = None
    file_size: int | None = None
    file_name: str | None = None
    mime_type: str | None = None


class TelegramLocation(ProviderModel):
    latitude: float
    longitude: float


class TelegramContact(ProviderModel):
    phone_number: str
    first_name: str | None = None
    last_name: str | None = None
    user_id: int | None = None


class TelegramReplied(ProviderModel):
    message_id: int


class TelegramMessage(ProviderModel):
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


class TelegramReaction(ProviderModel):
    chat: TelegramChat
    message_id: int
    date: EpochSeconds
    user: TelegramUser | None = None
    new_reaction: list[dict[str, Any]] = []


class TelegramUpdate(ProviderModel):
    update_id: int
    message: TelegramMessage | None = None
    edited_message: TelegramMessage | None = None
    message_reaction: TelegramReaction | None = None
