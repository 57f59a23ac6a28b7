"""Replies to email conversations, sent by SMTP from the address the customer wrote to."""

from __future__ import annotations

from dataclasses import dataclass
from email.errors import MessageError
from urllib.parse import unquote, urlsplit

import aiosmtplib
import httpx
from sqlalchemy.exc import SQLAlchemyError

from services.email import repository
from services.email.outbound.reply import Reply, compose
from services.email.settings import EmailSettings
from shared.clock import utc_now
from shared.db import Database
from shared.events import Channel, InteractionEvent
from shared.outbound import Failed, Outcome, Retry, Sent, not_configured

__all__ = ["SmtpServer", "SmtpTransport", "smtp_server"]

# Receiving mail systems throttle a sender who bursts at one domain (deferring with 421/451,
# then rating it as spam): replies to one domain leave at most ten a second.
_PER_DOMAIN_PER_SECOND = 10.0


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where ``EMAIL_SMTP_URL`` points: implicit TLS for ``smtps``, else STARTTLS if offered."""

    hostname: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None


def smtp_server(url: str) -> SmtpServer | None:
    """The server of an ``smtp://`` or ``smtps://`` URL; None when the URL is empty."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("EMAIL_SMTP_URL must look like smtp://user:pass@host:587 or smtps://...")
    implicit_tls = parts.scheme == "smtps"
    return SmtpServer(
        hostname=parts.hostname,
        port=parts.port or (465 if implicit_tls else 587),
        implicit_tls=implicit_tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class SmtpTransport:
    """Sends each reply to an email conversation through ``EMAIL_SMTP_URL``.

    The reply's Message-ID is recorded in the thread before it is sent: the customer's
    answer, or a bounce, may arrive before the delivery is settled.
    """

    name = "smtp"

    def __init__(self, settings: EmailSettings, database: Database) -> None:
        self._server = smtp_server(settings.smtp_url.get_secret_value())
        self._from_address = settings.from_address
        self._timeout_s = settings.outbound_timeout_s
        self._database = database

    def serves(self, event: InteractionEvent) -> bool:
        return event.channel is Channel.EMAIL

    def limits(self, event: InteractionEvent) -> list[tuple[str, float]]:
        domain = event.customer.id.rpartition("@")[2].lower()
        return [(f"smtp:{domain}", _PER_DOMAIN_PER_SECOND)]

    async def send(self, event: InteractionEvent, client: httpx.AsyncClient) -> Outcome:
        if self._server is None:
            return not_configured("EMAIL_SMTP_URL")
        if "@" not in event.customer.id:
            return Failed(f"the customer has no email address: {event.customer.id[:100]}")
        try:
            reply = await self._prepare(event)
        except (SQLAlchemyError, OSError) as exc:
            # Nothing was sent yet: a database that did not answer is a passing failure.
            return Retry(f"database: {type(exc).__name__}")
        if isinstance(reply, Failed):
            return reply
        return await self._submit(self._server, reply)

    async def _prepare(self, event: InteractionEvent) -> Reply | Failed:
        """The reply to its thread, recorded there, or why it cannot be written."""
        async with self._database.transaction() as session:
            thread = await repository.latest_of_thread(session, event.conversation_key)
            from_address = next(
                (m.recipient for m in reversed(thread) if m.recipient and not m.ours),
                self._from_address,
            )
            if not from_address:
                return not_configured("EMAIL_FROM_ADDRESS")
            try:
                reply = compose(event, thread, from_address=from_address)
            except (ValueError, MessageError) as exc:
                return Failed(f"the reply cannot be addressed: {exc}"[:1000])
            await repository.remember_message(
                session,
                message_id=reply.message_id,
                conversation_key=event.conversation_key,
                seen_at=utc_now(),
                subject=str(reply.message["Subject"]),
                reply_event_id=event.event_id,
            )
        return reply

    async def _submit(self, server: SmtpServer, reply: Reply) -> Outcome:
        try:
            await aiosmtplib.send(
                reply.message,
                sender=reply.sender,
                recipients=[reply.recipient],
                hostname=server.hostname,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.implicit_tls,
                # None: upgrade with STARTTLS when the server offers it.
                start_tls=False if server.implicit_tls else None,
                timeout=self._timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return _outcome_of_reply(exc.recipients[0].code, exc.recipients[0].message)
        except aiosmtplib.SMTPResponseException as exc:
            return _outcome_of_reply(exc.code, exc.message)
        except (
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError,
            TimeoutError,
            OSError,
        ) as exc:
            return Retry(f"smtp: {type(exc).__name__}: {exc}")
        except aiosmtplib.SMTPException as exc:
            # What the server cannot do for us (AUTH, STARTTLS it does not offer): fix the URL.
            return Failed(f"smtp: {type(exc).__name__}: {exc}")
        return Sent(reply.message_id)


def _outcome_of_reply(code: int, text: str) -> Outcome:
    """SMTP's own rule: 4xx is a passing refusal (try again), 5xx a permanent one."""
    reason = f"SMTP {code}: {' '.join(text.split())}"[:1000]
    return Retry(reason) if 400 <= code < 500 else Failed(reason)
