"""MIME messages to text and attachment metadata, with the standard library's modern policy."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import default as modern_policy

from services.email.authentication import SenderAuthentication, results_headers
from services.email.bounces import Bounce, bounce_of
from services.email.decoding import decode_bytes, scrub
from services.email.headers import HeaderFacts, header_facts
from services.email.text import html_to_text
from shared.errors import UnprocessableEntity
from shared.events import Attachment

__all__ = [
    "BodyFacts",
    "ParseLimits",
    "ParsedEmail",
    "TooManyParts",
    "attachment_of",
    "body_from_parts",
    "parse_mime",
]

# Deeper than any mailer nests; deeper still is an attack on the walker, not a message.
_MAX_DEPTH = 40
# A declared boundary, quoted or not, and a line that may be one of them.
_BOUNDARY_PARAM = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)
_DASH_LINE = re.compile(rb"^--([^\r\n]*)", re.M)
_SPLIT_BOUNDARY = re.compile(rb"boundary\*", re.I)


@dataclass(frozen=True)
class ParseLimits:
    """How much of a mail the connector reads: bounds on work an anonymous sender can cause."""

    max_attachments: int = 200
    max_html_chars: int = 2_000_000
    max_mime_parts: int = 500


class TooManyParts(UnprocessableEntity):
    """More MIME parts than any person's mail has: refused before the parser sees them."""

    code = "too_many_parts"


@dataclass(frozen=True)
class BodyFacts:
    text: str | None
    from_html: bool
    attachments: tuple[Attachment, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedEmail:
    """One inbound mail as the connector understood it, whichever provider delivered it."""

    headers: HeaderFacts
    body: BodyFacts
    content_hash: str
    provider_stripped_text: str | None = None
    envelope_sender: str | None = None
    provider_meta: dict[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    #: A delivery status notification's failure: one of our replies came back.
    bounce: Bounce | None = None
    #: What the receiving side says of the sender's right to the From address.
    authentication: SenderAuthentication = field(default_factory=SenderAuthentication)

    @property
    def all_warnings(self) -> tuple[str, ...]:
        seen = self.headers.warnings + self.body.warnings + self.warnings
        return tuple(dict.fromkeys(seen))


def attachment_of(
    data: bytes | None,
    *,
    name: str | None,
    content_type: str,
    inline: bool = False,
    size: int | None = None,
) -> Attachment:
    """Attachment metadata; the checksum when the bytes are at hand."""
    return Attachment(
        name=scrub(name)[0][:255] if name else None,
        content_type=content_type[:127] or "application/octet-stream",
        size=len(data) if data is not None else max(size or 0, 0),
        sha256=hashlib.sha256(data).hexdigest() if data is not None else None,
        inline=inline,
    )


def body_from_parts(text: str | None, html: str | None, *, max_html_chars: int) -> BodyFacts:
    """Prefer the plain text; derive it from the HTML when there is none."""
    if text and text.strip():
        return BodyFacts(text=text, from_html=False)
    if html and html.strip():
        warnings: list[str] = []
        return BodyFacts(
            text=_html_text(html, max_html_chars, warnings),
            from_html=True,
            warnings=tuple(warnings),
        )
    return BodyFacts(text=None, from_html=False)


def _html_text(html: str, max_chars: int, warnings: list[str]) -> str:
    """The text of at most ``max_chars`` of HTML: the converter's time grows with its input."""
    if len(html) > max_chars:
        warnings.append(f"HTML cut to {max_chars} characters before conversion to text")
        html = html[:max_chars]
    return html_to_text(html)


def _count_parts(raw: bytes) -> int:
    """How many boundary lines the message has, counted in one pass before it is parsed.

    The standard library's parser slows down more than linearly with the number of
    parts, so the count has to come before it. Every part starts with a boundary line,
    so this is at least the number of parts; a line counts only when it names a
    boundary the message declares, so a text full of "-- " lines costs nothing.
    """
    declared = {quoted or bare for quoted, bare in _BOUNDARY_PARAM.findall(raw)}
    # A boundary split over RFC 2231 continuations (boundary*0=, boundary*1=) is read whole by
    # the parser but not by the pattern: then every line starting with "--" counts.
    split = _SPLIT_BOUNDARY.search(raw) is not None
    if not declared and not split:
        return 0
    count = 0
    for match in _DASH_LINE.finditer(raw):
        line = match.group(1).rstrip()
        if split or line in declared or (line.endswith(b"--") and line[:-2] in declared):
            count += 1
    return count


def _leaves(part: Message, depth: int = 0) -> Iterator[Message]:
    """Leaf parts, not descending into attached messages (those are attachments themselves)."""
    if depth > _MAX_DEPTH:
        raise RecursionError("multipart nesting too deep")
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        yield part
        return
    payload = part.get_payload()
    for child in payload if isinstance(payload, list) else ():
        if isinstance(child, Message):
            yield from _leaves(child, depth + 1)


def _part_text(part: Message, warnings: list[str]) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:  # a charset parameter too broken to read is as good as none
        charset = None
    text, warning = decode_bytes(data, charset)
    if warning:
        warnings.append(warning)
    return text


def _attachment(part: Message) -> Attachment:
    inline = part.get_content_disposition() == "inline" or (
        part.get_content_disposition() is None and part.get("Content-ID") is not None
    )
    try:
        name = part.get_filename()
    except Exception:  # a filename parameter too broken to decode
        name = None
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload(0) if part.is_multipart() else None
        data = inner.as_bytes() if isinstance(inner, Message) else None
        if name is None and isinstance(inner, Message):
            subject = str(inner.get("Subject", "") or "").strip()
            name = f"{subject or 'message'}.eml"
        return attachment_of(data, name=name, content_type="message/rfc822", inline=False)
    payload = part.get_payload(decode=True)
    return attachment_of(
        payload if isinstance(payload, bytes) else b"",
        name=name,
        content_type=part.get_content_type(),
        inline=inline,
    )


def _is_attachment(part: Message) -> bool:
    if part.get_content_type() == "message/rfc822":
        return True
    if part.get_content_maintype() == "multipart":  # a multipart whose boundary never came
        return False
    if part.get_content_maintype() != "text":
        return True
    return part.get_content_disposition() == "attachment" or part.get_filename() is not None


def _body(message: EmailMessage, limits: ParseLimits) -> BodyFacts:
    warnings: list[str] = []
    body = message.get_body(preferencelist=("plain", "html"))
    text: str | None = None
    from_html = False
    if body is not None:
        text = _part_text(body, warnings)
        if body.get_content_subtype() == "html":
            text, from_html = _html_text(text, limits.max_html_chars, warnings), True
    attachments: list[Attachment] = []
    for part in _leaves(message):
        if part is body or not _is_attachment(part):
            continue
        if len(attachments) == limits.max_attachments:
            warnings.append(
                f"more than {limits.max_attachments} attachments: the rest are not listed"
            )
            break
        attachments.append(_attachment(part))
    unsplit = message.get_content_maintype() == "multipart" and not message.is_multipart()
    if text is None and unsplit:
        # The boundary never appears: the parser kept the body whole; it is still readable.
        warnings.append("multipart body without its boundary: read as plain text")
        text = scrub(str(message.get_payload()))[0]
    if text is None:
        warnings.append("no readable text body")
    return BodyFacts(
        text=text, from_html=from_html, attachments=tuple(attachments), warnings=tuple(warnings)
    )


def _defects(message: Message) -> list[str]:
    found: list[str] = []
    try:
        for part in message.walk():
            found.extend(f"mime defect: {type(defect).__name__}" for defect in part.defects)
    except Exception:  # walking a damaged tree can fail where our own walk did not
        found.append("mime structure damaged")
    return found


def parse_mime(
    raw: bytes,
    *,
    limits: ParseLimits = ParseLimits(),
    provider_meta: dict[str, str] | None = None,
) -> ParsedEmail:
    """Parse a whole RFC 5322 message; 422 when nothing readable is left of it."""
    if not raw.strip():
        raise UnprocessableEntity("the message is empty", detail={"field": "message"})
    # Refused rather than read in part: the time goes into the standard parser, which
    # cannot be told to stop after so many parts, and no person's mail has hundreds.
    parts = _count_parts(raw)
    if parts > limits.max_mime_parts:
        raise TooManyParts(
            "the message has more MIME parts than the connector reads",
            detail={"max_parts": limits.max_mime_parts},
        )
    try:
        message = BytesParser(policy=modern_policy).parsebytes(raw)
    except Exception as exc:  # the parser itself is lenient; this catches its rare crashes
        raise UnprocessableEntity(
            "the message could not be parsed as MIME", detail={"problem": type(exc).__name__}
        ) from None
    if not isinstance(message, EmailMessage) or not message.keys():
        raise UnprocessableEntity("the message has no headers", detail={"field": "headers"})
    headers = header_facts(message)
    warnings: list[str] = []
    try:
        body = _body(message, limits)
    except Exception as exc:  # a body we cannot walk still leaves headers worth publishing
        warnings.append(f"body unreadable ({type(exc).__name__})")
        body = BodyFacts(text=None, from_html=False)
    try:
        bounce = bounce_of(message)
    except Exception as exc:  # a report too damaged to read is still published as mail
        warnings.append(f"delivery report unreadable ({type(exc).__name__})")
        bounce = None
    return ParsedEmail(
        headers=headers,
        body=body,
        content_hash=hashlib.sha256(raw).hexdigest(),
        envelope_sender=_envelope_sender(message),
        provider_meta=provider_meta or {},
        warnings=tuple(warnings + _defects(message)),
        bounce=bounce,
        # Raw MIME comes from the operator's own server, which prepends its results.
        authentication=SenderAuthentication(results=results_headers(headers.auth_headers)),
    )


def _envelope_sender(message: Message) -> str | None:
    """The bounce address of the envelope, as the receiving MTA recorded it."""
    try:
        value = str(message.get("Return-Path") or "")
    except Exception:
        return None
    address = value.strip().strip("<>").strip().lower()
    return address if "@" in address else None
