"""The mail an agent's reply becomes: addressed, threaded and encoded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from services.email.repository import ThreadMessage
from shared.clock import utc_now
from shared.events import InteractionEvent

__all__ = ["Reply", "compose", "reply_message_id"]

_ALREADY_A_REPLY = re.compile(r"^\s*re\s*:", re.I)
# Mailers cut References long before this; the root and the latest ids are what threads.
_MAX_REFERENCES = 20


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply ready for SMTP: the envelope's sender and recipient, and the message."""

    sender: str
    recipient: str
    message_id: str
    message: EmailMessage


def reply_message_id(event: InteractionEvent, from_address: str) -> str:
    """The reply's Message-ID (without brackets): the same for every attempt of one reply."""
    domain = from_address.rpartition("@")[2] or "switchboard.invalid"
    return f"reply-{event.raw_ref}@{domain}"


def compose(event: InteractionEvent, thread: list[ThreadMessage], *, from_address: str) -> Reply:
    """The reply to the customer's last message of ``thread`` (oldest first), from ``from_address``.

    It answers the message routing named (``content.in_reply_to``), else the customer's
    latest; References lead from the thread's root to that message, so the customer's
    mailer shows the reply in the thread and the customer's answer names our Message-ID.
    """
    content = event.content
    parent_id = _parent_id(event, thread)
    parent = next((m for m in thread if m.message_id == parent_id), None)
    subject = parent.subject if parent and parent.subject else _latest_subject(thread)
    message_id = reply_message_id(event, from_address)

    message = EmailMessage()
    message["From"] = from_address
    message["To"] = Address(
        display_name=event.customer.display_name or "", addr_spec=event.customer.id
    )
    message["Subject"] = _re(subject)
    message["Date"] = format_datetime(utc_now())
    message["Message-ID"] = f"<{message_id}>"
    if parent_id is not None:
        message["In-Reply-To"] = f"<{parent_id}>"
        message["References"] = " ".join(f"<{i}>" for i in _references(event, thread, parent_id))
    # Quoted-printable: the message stays 7-bit, for relays that do not offer 8BITMIME.
    text = (content.text if content else None) or ""
    message.set_content(text, charset="utf-8", cte="quoted-printable")
    return Reply(
        sender=from_address,
        recipient=event.customer.id,
        message_id=message_id,
        message=message,
    )


def _parent_id(event: InteractionEvent, thread: list[ThreadMessage]) -> str | None:
    named = event.content.in_reply_to if event.content else None
    # A message without a Message-ID is known by a hash of its content: nothing to name.
    if named and not named.startswith("sha256:"):
        return named
    customers = [m for m in thread if not m.ours]
    return customers[-1].message_id if customers else None


def _latest_subject(thread: list[ThreadMessage]) -> str | None:
    return next((m.subject for m in reversed(thread) if m.subject), None)


def _re(subject: str | None) -> str:
    if not subject:
        return "Re: your message"
    return subject if _ALREADY_A_REPLY.match(subject) else f"Re: {subject}"


def _references(event: InteractionEvent, thread: list[ThreadMessage], parent_id: str) -> list[str]:
    _, _, root = event.conversation_key.partition(":")
    ids = [root] if root and not root.startswith("sha256:") else []
    ids += [m.message_id for m in thread]
    ids = [i for i in dict.fromkeys(ids) if i != parent_id]
    if len(ids) >= _MAX_REFERENCES:
        ids = ids[:1] + ids[-(_MAX_REFERENCES - 2) :]
    return [*ids, parent_id]
