"""Delivery status notifications (RFC 3464): which of our messages came back, and why."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import default as modern_policy

from services.email.headers import message_ids

__all__ = ["Bounce", "bounce_of"]

# "smtp; 550 5.1.1 <ada@example.com>: user unknown": the type, then the server's reply code.
_DIAGNOSTIC_TYPE = re.compile(r"^\s*[\w-]+\s*;\s*")
_REPLY_CODE = re.compile(r"^\d{3}[ -]+")


@dataclass(frozen=True, slots=True)
class Bounce:
    """A message of ours that could not be delivered: its Message-ID and the mailer's reason."""

    original_message_id: str
    reason: str


def bounce_of(message: Message) -> Bounce | None:
    """The failure a ``multipart/report; report-type=delivery-status`` reports, if it is one.

    A report of delayed or relayed delivery is no failure. The original is named by the
    returned message (``message/rfc822``) or its headers (``text/rfc822-headers``), else by
    the report's ``X-Original-Message-ID`` or the envelope id the sender gave.
    """
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    fields = _status_fields(message)
    failed = [f for f in fields[1:] if _is_failure(f)]
    if not failed:
        return None
    original = _original_message_id(message, fields[0] if fields else None)
    if original is None:
        return None
    return Bounce(original_message_id=original, reason=_reason(failed[0]))


def _parts(message: Message) -> list[Message]:
    return [part for part in message.walk() if part is not message]


def _status_fields(message: Message) -> list[Message]:
    """The per-message block, then one block per recipient, of the delivery-status part."""
    for part in _parts(message):
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                return [block for block in payload if isinstance(block, Message)]
    return []


def _is_failure(recipient: Message) -> bool:
    action = str(recipient.get("Action", "")).strip().lower()
    status = str(recipient.get("Status", "")).strip()
    return action == "failed" or (not action and status.startswith("5"))


def _reason(recipient: Message) -> str:
    status = str(recipient.get("Status", "")).strip()
    diagnostic = " ".join(str(recipient.get("Diagnostic-Code", "")).split())
    diagnostic = _REPLY_CODE.sub("", _DIAGNOSTIC_TYPE.sub("", diagnostic))
    if status and diagnostic.startswith(status):
        diagnostic = diagnostic[len(status) :].strip()
    if not diagnostic:
        final = str(recipient.get("Final-Recipient", "")).partition(";")[2].strip()
        diagnostic = f"<{final}>: undeliverable" if final else "undeliverable"
    return f"{status} {diagnostic}".strip()[:1000]


def _original_message_id(message: Message, per_message: Message | None) -> str | None:
    for part in _parts(message):
        content_type = part.get_content_type()
        if content_type == "message/rfc822" and part.is_multipart():
            original = part.get_payload(0)
            if isinstance(original, Message) and (
                found := message_ids(str(original.get("Message-ID", "")))
            ):
                return found[0]
        elif content_type == "text/rfc822-headers":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                headers = HeaderParser(policy=modern_policy).parsestr(
                    text.decode("utf-8", "replace")
                )
                if found := message_ids(str(headers.get("Message-ID", ""))):
                    return found[0]
    for value in (
        message.get("X-Original-Message-ID"),
        per_message.get("Original-Envelope-Id") if per_message is not None else None,
    ):
        if found := message_ids(str(value) if value is not None else None):
            return found[0]
    return None
