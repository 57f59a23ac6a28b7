"""Distinct, signed, real-format webhook payloads, written where the wrk script reads them.

Each payload is one line: ``path TAB headers TAB body``, headers joined by the unit separator
(0x1f). Every body is compact JSON (no tab, no newline), so a line is a whole request. The
shapes are those of the provider fixtures (Messenger, X Account Activity, Telegram, Postmark)
and of the project's own generic webhooks; ids, senders and texts change from one payload to
the next so that every request is a different message, hence a different event id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.chat.settings import ChatSettings
from services.email.settings import EmailSettings
from services.phone.settings import PhoneSettings
from services.social.settings import SocialSettings

#: The secrets the services run with: their settings classes read the same environment.
CHAT = ChatSettings()
SOCIAL = SocialSettings()
EMAIL = EmailSettings()
PHONE = PhoneSettings()


TEXTS = (
    "Hi, my order has not arrived",
    "Can I change the delivery address?",
    "The app logs me out every five minutes",
    "Do you ship to Lisbon?",
    "I was charged twice for order {n}",
)


@dataclass(frozen=True)
class Payload:
    path: str
    headers: dict[str, str]
    body: bytes

    def line(self) -> str:
        headers = "\x1f".join(f"{name}: {value}" for name, value in self.headers.items())
        return f"{self.path}\t{headers}\t{self.body.decode()}"


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def _hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _tag(run: str) -> int:
    """A number of six digits that tells runs apart in numeric provider ids."""
    return zlib.crc32(run.encode()) % 10**6


def _text(n: int) -> str:
    return TEXTS[n % len(TEXTS)].format(n=n)


#: Messages per conversation in the sustained load (``chat_thread``, ``messenger_thread``).
THREAD = 5


def run_provider(run: str) -> str:
    """The provider name (chat ``source``) of a run's own chat messages."""
    return f"bench{_tag(run)}"


def chat_generic(n: int, run: str) -> Payload:
    return _chat(n, run, conversation=n, source="generic")


def chat_thread(n: int, run: str) -> Payload:
    """The ``n``-th message of a run whose conversations have ``THREAD`` messages each.

    Its provider (``source``) is the run's own, so what a service counted of it can be told
    apart from every other run's.
    """
    return _chat(n, run, conversation=n // THREAD, source=run_provider(run))


def _chat(n: int, run: str, *, conversation: int, source: str) -> Payload:
    body = _json(
        {
            "message_id": f"{run}-m{n}",
            "conversation_id": f"{run}-c{conversation}",
            "sender": {"id": f"{run}-v{conversation}", "name": f"Visitor {conversation}"},
            "text": _text(n),
            "source": source,
        }
    )
    return Payload(
        "/webhooks/generic",
        {
            "Content-Type": "application/json",
            "X-Switchboard-Signature": "sha256="
            + _hex_hmac(CHAT.generic_secret.get_secret_value(), body),
        },
        body,
    )


def social_messenger(n: int, run: str) -> Payload:
    return _messenger(n, run, sender=n)


def messenger_thread(n: int, run: str) -> Payload:
    """Like :func:`chat_thread`: ``THREAD`` messages from each sender."""
    return _messenger(n, run, sender=n // THREAD)


def _messenger(n: int, run: str, *, sender: int) -> Payload:
    millis = int(time.time() * 1000)
    page = "106540352242922"
    body = _json(
        {
            "object": "page",
            "entry": [
                {
                    "id": page,
                    "time": millis,
                    "messaging": [
                        {
                            "sender": {"id": f"{_tag(run)}{sender:010d}"},
                            "recipient": {"id": page},
                            "timestamp": millis,
                            "message": {"mid": f"m_{run}_{n}", "text": _text(n)},
                        }
                    ],
                }
            ],
        }
    )
    return Payload(
        "/webhooks/meta",
        {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256="
            + _hex_hmac(SOCIAL.meta_app_secret.get_secret_value(), body),
        },
        body,
    )


def social_x(n: int, run: str) -> Payload:
    sender = f"{_tag(run)}{n:010d}"
    body = _json(
        {
            "for_user_id": "4337869213",
            "direct_message_events": [
                {
                    "type": "message_create",
                    "id": f"{_tag(run)}{n:012d}",
                    "created_timestamp": str(int(time.time() * 1000)),
                    "message_create": {
                        "target": {"recipient_id": "4337869213"},
                        "sender_id": sender,
                        "message_data": {"text": _text(n)},
                    },
                }
            ],
            "users": {sender: {"id": sender, "name": f"User {n}", "screen_name": f"user{n}"}},
        }
    )
    digest = hmac.new(
        SOCIAL.x_consumer_secret.get_secret_value().encode(), body, hashlib.sha256
    ).digest()
    return Payload(
        "/webhooks/x",
        {
            "Content-Type": "application/json",
            "x-twitter-webhooks-signature": "sha256=" + base64.b64encode(digest).decode(),
        },
        body,
    )


def social_telegram(n: int, run: str) -> Payload:
    user = _tag(run) * 10**7 + n
    body = _json(
        {
            "update_id": user,
            "message": {
                "message_id": n + 1,
                "from": {"id": user, "is_bot": False, "first_name": f"User {n}"},
                "chat": {"id": user, "type": "private"},
                "date": int(time.time()),
                "text": _text(n),
            },
        }
    )
    return Payload(
        "/webhooks/telegram",
        {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": SOCIAL.telegram_secret_token.get_secret_value(),
        },
        body,
    )


def email_postmark(n: int, run: str) -> Payload:
    body = _json(
        {
            "FromName": f"Customer {n}",
            "MessageStream": "inbound",
            "From": f"customer{n}@example.org",
            "FromFull": {"Email": f"customer{n}@example.org", "Name": f"Customer {n}"},
            "To": '"Support" <support@example.com>',
            "ToFull": [{"Email": "support@example.com", "Name": "Support", "MailboxHash": ""}],
            "Subject": f"Order {n}",
            "MessageID": f"{run}-{n}",
            "Date": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "TextBody": _text(n),
            "HtmlBody": f"<p>{_text(n)}</p>",
            "StrippedTextReply": _text(n),
            "Headers": [{"Name": "Message-ID", "Value": f"<{run}-{n}@mail.example.org>"}],
            "Attachments": [],
        }
    )
    auth = base64.b64encode(
        f"{EMAIL.postmark_username}:{EMAIL.postmark_password.get_secret_value()}".encode()
    ).decode()
    return Payload(
        "/inbound/postmark",
        {"Content-Type": "application/json", "Authorization": f"Basic {auth}"},
        body,
    )


def phone_call(n: int, run: str) -> Payload:
    body = _json(
        {
            "call_id": f"{run}-call{n}",
            "direction": "inbound",
            "from": f"+1415555{n % 10000:04d}",
            "to": "+14155550100",
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    return Payload(
        "/calls",
        {
            "Content-Type": "application/json",
            "X-Switchboard-Signature": "sha256="
            + _hex_hmac(PHONE.generic_secret.get_secret_value(), body),
        },
        body,
    )


Builder = Callable[[int, str], Payload]

#: Ingest target -> (service, payload builder).
TARGETS: dict[str, tuple[str, Builder]] = {
    "chat/generic": ("chat", chat_generic),
    "social/messenger": ("social", social_messenger),
    "social/x": ("social", social_x),
    "social/telegram": ("social", social_telegram),
    "email/postmark": ("email", email_postmark),
    "phone/calls": ("phone", phone_call),
}


def write(path: Path, builder: Builder, count: int, run: str) -> Path:
    """Write ``count`` distinct payloads of ``builder`` to ``path``, one per line."""
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            out.write(builder(n, run).line())
            out.write("\n")
    return path
