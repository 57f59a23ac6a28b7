"""What the headers of a message say: ids, thread, sender, date, and whether a robot sent it."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import default as modern_policy
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from services.email.authentication import AUTH_HEADERS
from services.email.decoding import decode_bytes, scrub

__all__ = ["HeaderFacts", "header_facts", "headers_from_pairs", "message_ids"]

_MSG_ID = re.compile(r"<([^<>\s]+)>")
_ROBOT_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
# Bounces come "From: MAILER-DAEMON <>": a robot's name and no address at all.
_ROBOT_NAMES = re.compile(r'^"?\s*(mailer[- ]?daemon|postmaster|mail[- ]daemon)\b', re.I)
_LINE_BREAKS = re.compile(r"[\r\n]+")
# Not "list": a customer writing through a mailing list is still a person (RFC 3834 5).
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "auto_reply", "auto-reply"})
#: Header values up to this long are parsed once and remembered (see _parsed_header).
_CACHED_HEADER_CHARS = 1000


@dataclass(frozen=True)
class HeaderFacts:
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str | None
    from_name: str | None
    subject: str | None
    sent_at: datetime | None
    to: str | None
    automated_reason: str | None
    warnings: tuple[str, ...] = field(default=())
    #: The headers about the sender's authentication (see authentication.py), top first.
    auth_headers: tuple[tuple[str, str], ...] = field(default=())
    #: ``Content-Language`` as written (``de-DE``, ``fr, en``): the sender's word on the language.
    content_language: str | None = None

    @property
    def thread_root(self) -> str | None:
        """The first message of the thread: References names it first, else the parent."""
        if self.references:
            return self.references[0]
        return self.in_reply_to


@functools.lru_cache(maxsize=1024)
def _parsed_header(name: str, value: str) -> Any:
    # The modern policy parses an address header in about a millisecond, on every read: mail
    # after mail comes To the same support address, and From customers who wrote before.
    # A parsed header is a str with read-only attributes, so one can serve every message.
    return modern_policy.header_fetch_parse(name, value)


class _Reader:
    """Reads headers without letting a malformed one raise; notes what it had to repair."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.warnings: list[str] = []

    def header(self, name: str) -> Any:
        """The first ``name`` header as ``Message.get`` parses it, or None."""
        for key, value in self.message.raw_items():
            if key.lower() == name.lower():
                cacheable = isinstance(value, str) and len(value) <= _CACHED_HEADER_CHARS
                if cacheable and self.message.policy is modern_policy:
                    return _parsed_header(key, value)
                return self.message.policy.header_fetch_parse(key, value)
        return None

    def raw(self, name: str) -> str | None:
        for key, value in self.message.raw_items():
            if key.lower() == name.lower():
                text = value if isinstance(value, str) else str(value)
                return scrub(re.sub(r"\r?\n[ \t]*", " ", text).strip())[0]
        return None

    def all_raw(self, names: frozenset[str]) -> tuple[tuple[str, str], ...]:
        """Every header named in ``names`` (lower case), in message order, unfolded."""
        found = []
        for key, value in self.message.raw_items():
            if key.lower() in names:
                text = value if isinstance(value, str) else str(value)
                found.append((key.lower(), scrub(re.sub(r"\r?\n[ \t]*", " ", text).strip())[0]))
        return tuple(found)

    def text(self, name: str) -> str | None:
        try:
            value = self.header(name)
            text = None if value is None else str(value)
        except Exception:  # the modern header parser still raises on some broken input
            self.warnings.append(f"malformed {name} header")
            text = self._decode_words(self.raw(name))
        if text is None:
            return None
        if "\ufffd" in text:
            text = self._redecode(name) or text
        clean, repaired = scrub(text)
        if repaired:
            self.warnings.append(f"undecodable bytes in {name} header")
        return clean.strip()

    def _redecode(self, name: str) -> str | None:
        """Encoded words in a charset Python lacks: decode them with our fallbacks instead."""
        raw = self.raw(name)
        if raw is None or "=?" not in raw:
            return None
        try:
            chunks = decode_header(raw)
        except Exception:  # the legacy decoder fails on some encoded words the modern one read
            return None
        pieces: list[str] = []
        for chunk, charset in chunks:
            if isinstance(chunk, str):
                pieces.append(chunk)
                continue
            piece, warning = decode_bytes(chunk, charset)
            pieces.append(piece)
            if warning:
                self.warnings.append(f"{name} header: {warning}")
        return "".join(pieces)

    @staticmethod
    def _decode_words(raw: str | None) -> str | None:
        if raw is None:
            return None
        try:
            return str(make_header(decode_header(raw)))
        except Exception:  # an encoded word so broken that even the legacy decoder gives up
            return raw


def message_ids(value: str | None) -> tuple[str, ...]:
    """The Message-IDs a header names, without their angle brackets."""
    if not value:
        return ()
    found = _MSG_ID.findall(value)
    if found:
        return tuple(found)
    # Some mailers drop the angle brackets; take the bare tokens that look like ids.
    return tuple(token for token in value.split() if "@" in token)


def _sender(reader: _Reader) -> tuple[str | None, str | None]:
    value = reader.text("From")
    if not value:
        return None, None
    try:
        header = reader.header("From")
        addresses = [(a.display_name, a.addr_spec) for a in getattr(header, "addresses", ())]
    except Exception:  # malformed address lists: fall back to the lenient legacy parser
        addresses = []
    if not any("@" in addr for _, addr in addresses):
        addresses = getaddresses([value])
    for name, address in addresses:
        if "@" in address:
            # Adjacent encoded words can leave doubled spaces in a display name.
            clean_name = " ".join(scrub(name)[0].split())
            clean_address, _ = scrub(address.strip().lower())
            return clean_address, clean_name or None
    reader.warnings.append("From header has no address")
    return None, None


def _sent_at(reader: _Reader) -> datetime | None:
    value = reader.raw("Date")
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        reader.warnings.append("unreadable Date header: occurred_at is the time received")
        return None
    # "-0000" means the zone is unknown; UTC is the only honest reading.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _automated_reason(reader: _Reader, from_address: str | None) -> str | None:
    auto_submitted = (reader.raw("Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"auto-submitted: {auto_submitted}"
    precedence = (reader.raw("Precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if reader.raw(name) is not None:
            return f"{name.lower()} header"
    try:
        content_type = reader.message.get_content_type()
        report_type = reader.message.get_param("report-type")
    except Exception:
        content_type, report_type = "", None
    if content_type == "multipart/report":
        return f"report: {report_type or 'unknown'}"
    if from_address and _ROBOT_SENDERS.match(from_address):
        return f"sender: {from_address.split('@')[0]}"
    if from_address is None and _ROBOT_NAMES.match(reader.raw("From") or ""):
        return "sender: mailer-daemon without an address"
    if (reader.raw("Return-Path") or "").replace(" ", "") == "<>":
        return "null return path"
    return None


def header_facts(message: Message) -> HeaderFacts:
    """Everything the connector takes from a message's headers."""
    reader = _Reader(message)
    own_ids = message_ids(reader.raw("Message-ID"))
    in_reply_to = message_ids(reader.raw("In-Reply-To"))
    address, name = _sender(reader)
    return HeaderFacts(
        message_id=own_ids[0] if own_ids else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=message_ids(reader.raw("References")),
        from_address=address,
        from_name=name,
        subject=reader.text("Subject"),
        sent_at=_sent_at(reader),
        to=reader.text("To"),
        automated_reason=_automated_reason(reader, address),
        warnings=tuple(reader.warnings),
        auth_headers=reader.all_raw(AUTH_HEADERS),
        content_language=reader.text("Content-Language"),
    )


def headers_from_pairs(pairs: list[tuple[str, str]]) -> Message:
    """A header-only message built from (name, value) pairs, as parsed-mode providers send them."""
    lines = []
    for name, value in pairs:
        clean_name = re.sub(r"[^!-9;-~]", "", name)
        if clean_name:
            lines.append(f"{clean_name}: {_LINE_BREAKS.sub(' ', value)}")
    return HeaderParser(policy=modern_policy).parsestr("\n".join(lines) + "\n\n")
