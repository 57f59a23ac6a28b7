"""Request and response bodies of the email connector."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Postmark(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PostmarkAddress(_Postmark):
    Email: str = ""
    Name: str = ""
    MailboxHash: str = ""


class PostmarkHeader(_Postmark):
    Name: str
    Value: str


class PostmarkAttachment(_Postmark):
    Name: str | None = None
    Content: str = ""
    ContentType: str = "application/octet-stream"
    ContentLength: int = Field(default=0, ge=0)
    ContentID: str = ""


class PostmarkInbound(_Postmark):
    """Postmark's inbound webhook JSON (the fields the connector reads)."""

    MessageID: str = Field(default="", max_length=256)
    From: str = ""
    FromName: str = ""
    FromFull: PostmarkAddress | None = None
    To: str = ""
    Subject: str = ""
    Date: str = ""
    TextBody: str = ""
    HtmlBody: str = ""
    StrippedTextReply: str = ""
    MailboxHash: str = ""
    MessageStream: str = ""
    OriginalRecipient: str = ""
    Headers: list[PostmarkHeader] = Field(default_factory=list)
    Attachments: list[PostmarkAttachment] = Field(default_factory=list)
    RawEmail: str | None = Field(default=None, description="Present when raw content is enabled.")


class Accepted(BaseModel):
    """What the connector published for one inbound mail."""

    event_id: str
    conversation_key: str
    automated: bool
    parse_warnings: list[str]
