"""Each provider's inbound format to a :class:`ParsedEmail`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from services.email.authentication import (
    SenderAuthentication,
    from_mailgun_headers,
    from_received_spf,
    from_sendgrid_fields,
    results_headers,
)
from services.email.forms import Form
from services.email.headers import HeaderFacts, header_facts, headers_from_pairs
from services.email.mime import (
    ParsedEmail,
    ParseLimits,
    attachment_of,
    body_from_parts,
    parse_mime,
)
from services.email.schemas import PostmarkInbound
from shared.events import Attachment

__all__ = ["from_mailgun", "from_postmark", "from_sendgrid"]


def _content_hash(*parts: str | None) -> str:
    return hashlib.sha256("\x1f".join(p or "" for p in parts).encode()).hexdigest()


def _with_fallbacks(
    pairs: list[tuple[str, str]], fallbacks: dict[str, str | None]
) -> list[tuple[str, str]]:
    """Header pairs plus the provider's own fields for headers the pairs lack."""
    present = {name.lower() for name, _ in pairs}
    extra = [(n, v) for n, v in fallbacks.items() if v and n.lower() not in present]
    return pairs + extra


def _parsed_mode(
    pairs: list[tuple[str, str]],
    *,
    text: str | None,
    html: str | None,
    attachments: list[Attachment],
    stripped: str | None,
    envelope_sender: str | None,
    provider_meta: dict[str, str],
    warnings: list[str],
    limits: ParseLimits,
    authentication: Callable[[HeaderFacts], SenderAuthentication],
) -> ParsedEmail:
    headers = header_facts(headers_from_pairs(pairs))
    body = body_from_parts(text, html, max_html_chars=limits.max_html_chars)
    body = replace(body, attachments=tuple(attachments))
    return ParsedEmail(
        headers=headers,
        body=body,
        content_hash=_content_hash(
            headers.from_address, headers.subject, str(headers.sent_at), text, html
        ),
        provider_stripped_text=stripped or None,
        envelope_sender=envelope_sender,
        provider_meta=provider_meta,
        warnings=tuple(warnings),
        authentication=authentication(headers),
    )


def _form_attachments(form: Form, max_attachments: int, inline_map: str) -> list[Attachment]:
    # Both providers name inline parts in a JSON map of Content-ID to file field.
    inline_fields = {str(field) for field in _json_object(form.text(inline_map)).values()}
    return [
        attachment_of(
            f.data, name=f.filename, content_type=f.content_type, inline=f.field in inline_fields
        )
        for f in form.files[:max_attachments]
    ]


def from_mailgun(form: Form, *, limits: ParseLimits) -> ParsedEmail:
    """A Mailgun route POST: the MIME in ``body-mime`` when forwarded raw, else parsed fields."""
    meta = {"recipient": form.text("recipient") or ""}
    envelope_sender = (form.text("sender") or "").strip().lower() or None
    mime = form.fields.get("body-mime")

    def authentication(headers: HeaderFacts) -> SenderAuthentication:
        # Mailgun's SPF verdict is about the envelope sender of its own SMTP session.
        claims = from_mailgun_headers(headers.auth_headers, envelope_sender=envelope_sender)
        return SenderAuthentication(mailgun_claims=claims)

    if mime:
        parsed = parse_mime(mime, limits=limits, provider_meta=meta)
        stripped = form.text("stripped-text")
        return ParsedEmail(
            headers=parsed.headers,
            body=parsed.body,
            content_hash=parsed.content_hash,
            provider_stripped_text=stripped or None,
            envelope_sender=envelope_sender or parsed.envelope_sender,
            provider_meta=meta,
            warnings=parsed.warnings,
            authentication=authentication(parsed.headers),
        )
    warnings: list[str] = []
    pairs: list[tuple[str, str]] = []
    try:
        loaded: Any = json.loads(form.text("message-headers") or "[]")
        pairs = [(str(p[0]), str(p[1])) for p in loaded if isinstance(p, list) and len(p) == 2]
    except (ValueError, TypeError):
        warnings.append("message-headers is not a JSON list of [name, value] pairs")
    pairs = _with_fallbacks(pairs, {"From": form.text("from"), "Subject": form.text("subject")})
    return _parsed_mode(
        pairs,
        text=form.text("body-plain"),
        html=form.text("body-html"),
        attachments=_form_attachments(form, limits.max_attachments, "content-id-map"),
        stripped=form.text("stripped-text"),
        envelope_sender=envelope_sender,
        provider_meta=meta,
        warnings=warnings,
        limits=limits,
        authentication=authentication,
    )


def _json_object(value: str | None) -> dict[str, Any]:
    try:
        loaded = json.loads(value or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def from_sendgrid(form: Form, *, limits: ParseLimits) -> ParsedEmail:
    """A SendGrid Inbound Parse POST, raw mode (``email`` field) or parsed mode."""
    envelope = _json_object(form.text("envelope"))
    sender = envelope.get("from")
    envelope_sender = sender.strip().lower() if isinstance(sender, str) and sender else None
    meta = {"to": form.text("to") or "", "spam_score": form.text("spam_score") or ""}
    # SendGrid's own fields, in both modes; headers inside the message are the sender's.
    verdict = SenderAuthentication(
        claims=from_sendgrid_fields(
            form.text("SPF"), form.text("dkim"), envelope_sender=envelope_sender
        )
    )
    raw = form.fields.get("email")
    if raw:
        parsed = parse_mime(raw, limits=limits, provider_meta=meta)
        return ParsedEmail(
            headers=parsed.headers,
            body=parsed.body,
            content_hash=parsed.content_hash,
            envelope_sender=envelope_sender or parsed.envelope_sender,
            provider_meta=meta,
            warnings=parsed.warnings,
            authentication=verdict,
        )
    # Parsed mode sends each field in the message's own charset and says which in `charsets`.
    charsets = _json_object(form.text("charsets"))

    def field(name: str) -> str | None:
        charset = charsets.get(name)
        return form.text(name, charset if isinstance(charset, str) else "utf-8")

    block = field("headers") or ""
    pairs = [
        (name.strip(), value.strip())
        for name, _, value in (line.partition(":") for line in _unfold(block))
        if name.strip()
    ]
    pairs = _with_fallbacks(pairs, {"From": field("from"), "Subject": field("subject")})
    return _parsed_mode(
        pairs,
        text=field("text"),
        html=field("html"),
        attachments=_form_attachments(form, limits.max_attachments, "content-ids"),
        stripped=None,
        envelope_sender=envelope_sender,
        provider_meta=meta,
        warnings=[],
        limits=limits,
        authentication=lambda _: verdict,
    )


def _unfold(block: str) -> list[str]:
    lines: list[str] = []
    for line in block.replace("\r\n", "\n").split("\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += " " + line.strip()
        elif line.strip():
            lines.append(line)
    return lines


def _postmark_attachment(item: Any) -> tuple[Attachment, str | None]:
    try:
        data: bytes | None = base64.b64decode(item.Content, validate=True)
    except (binascii.Error, ValueError):
        data = None
    attachment = attachment_of(
        data,
        name=item.Name,
        content_type=item.ContentType,
        inline=bool(item.ContentID),
        size=item.ContentLength,
    )
    return attachment, None if data is not None else f"attachment {item.Name!r} is not base64"


def from_postmark(payload: PostmarkInbound, *, limits: ParseLimits) -> ParsedEmail:
    """Postmark's inbound JSON; its RawEmail, when enabled, is parsed as the whole message."""
    meta = {
        "postmark_message_id": payload.MessageID,
        "mailbox_hash": payload.MailboxHash,
        "original_recipient": payload.OriginalRecipient,
    }
    meta = {key: value for key, value in meta.items() if value}
    if payload.RawEmail:
        parsed = parse_mime(
            payload.RawEmail.encode("utf-8", "surrogateescape"),
            limits=limits,
            provider_meta=meta,
        )
        return ParsedEmail(
            headers=parsed.headers,
            body=parsed.body,
            content_hash=parsed.content_hash,
            provider_stripped_text=payload.StrippedTextReply or None,
            envelope_sender=parsed.envelope_sender,
            provider_meta=meta,
            warnings=parsed.warnings,
            authentication=_postmark_authentication(parsed.headers),
        )
    sender = payload.FromFull.Email if payload.FromFull and payload.FromFull.Email else payload.From
    name = payload.FromFull.Name if payload.FromFull else payload.FromName
    pairs = [(h.Name, h.Value) for h in payload.Headers]
    from_header = f'"{name.replace(chr(34), "")}" <{sender}>' if name else sender
    pairs = _with_fallbacks(
        pairs,
        {"From": from_header, "Subject": payload.Subject, "Date": payload.Date, "To": payload.To},
    )
    attachments: list[Attachment] = []
    warnings: list[str] = []
    for item in payload.Attachments[: limits.max_attachments]:
        attachment, warning = _postmark_attachment(item)
        attachments.append(attachment)
        if warning:
            warnings.append(warning)
    return _parsed_mode(
        pairs,
        text=payload.TextBody,
        html=payload.HtmlBody,
        attachments=attachments,
        stripped=payload.StrippedTextReply,
        envelope_sender=None,
        provider_meta=meta,
        warnings=warnings,
        limits=limits,
        authentication=_postmark_authentication,
    )


def _postmark_authentication(headers: HeaderFacts) -> SenderAuthentication:
    """Postmark prepends its Received-SPF and Authentication-Results to every inbound mail."""
    return SenderAuthentication(
        claims=from_received_spf(headers.auth_headers),
        results=results_headers(headers.auth_headers),
    )
