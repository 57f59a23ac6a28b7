"""Turns parsed mail into interaction events and publishes them."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses
from typing import ParamSpec

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from services.email import repository
from services.email.authentication import SenderTrust
from services.email.mime import ParsedEmail
from services.email.text import strip_reply
from shared.clock import utc_now
from shared.db import Database
from shared.errors import DatabaseUnavailable, SwitchboardError, UnprocessableEntity
from shared.events import (
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    MessageStatus,
    event_id_for,
)
from shared.kafka import EventProducer, publish_interactions
from shared.language import language_of
from shared.outbound import status_event

P = ParamSpec("P")

#: The customer of a bounce sent "From: MAILER-DAEMON <>", as real mailers send them: no
#: address at all. Such mail is automated, so it never opens a conversation.
MAILER_DAEMON = "MAILER-DAEMON"

_MAX_KEY = 500
_MAX_WARNINGS = 20


def _tidy(text: str | None, limit: int, warnings: list[str], what: str) -> str | None:
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > limit:
        warnings.append(f"{what} cut to {limit} characters")
        text = text[:limit]
    return text


def occurred_at(
    sent_at: datetime | None,
    received_at: datetime,
    *,
    skew_s: float,
    max_age_s: float,
    warnings: list[str],
) -> datetime:
    """The customer's Date, within ``skew_s`` after and ``max_age_s`` before the time received.

    The Date is whatever the sender wrote: a future-dated first mail would start the
    conversation late and shorten its first-response time; a backdated one would make
    it as long as the sender likes. An earlier Date is kept up to ``max_age_s``, since
    mail can spend hours in transit (greylisting, retries); older, occurred_at is the
    time received.
    """
    if sent_at is None:
        return received_at
    if (sent_at - received_at).total_seconds() > skew_s:
        warnings.append(
            f"Date header {sent_at.isoformat()} is more than {skew_s:g} s after the time "
            "received: occurred_at is the time received"
        )
        return received_at
    if (received_at - sent_at).total_seconds() > max_age_s:
        warnings.append(
            f"Date header {sent_at.isoformat()} is more than {max_age_s:g} s before the time "
            "received: occurred_at is the time received"
        )
        return received_at
    return sent_at


def conversation_key(parsed: ParsedEmail) -> str:
    """``email:<thread root>``: the root through References/In-Reply-To, else the message itself."""
    headers = parsed.headers
    root = headers.thread_root or headers.message_id or f"sha256:{parsed.content_hash}"
    key = f"email:{root}"
    if len(key) > _MAX_KEY:
        key = f"email:sha256:{hashlib.sha256(root.encode()).hexdigest()}"
    return key


def normalize(
    parsed: ParsedEmail,
    *,
    provider: str,
    received_at: datetime,
    max_text_chars: int,
    date_skew_s: float,
    date_max_age_s: float,
    trust: SenderTrust,
    conversation: str | None = None,
) -> InteractionEvent:
    """The ``message.received`` event of one inbound mail; 422 when it names no sender at all."""
    headers = parsed.headers
    warnings = list(parsed.all_warnings)
    address = headers.from_address
    if address is None and parsed.envelope_sender:
        warnings.append("no usable From address: the customer is the envelope sender")
        address = parsed.envelope_sender
    if not address and headers.automated_reason is not None:
        warnings.append("no sender address: the customer is the mailer daemon")
        address = MAILER_DAEMON
    if not address:
        raise UnprocessableEntity("the message names no sender address", detail={"field": "From"})
    if headers.message_id is None:
        warnings.append("no Message-ID: the event id comes from a hash of the content")
    if headers.sent_at is None and not any(w.startswith("unreadable Date") for w in warnings):
        warnings.append("no Date header: occurred_at is the time received")
    occurred = occurred_at(
        headers.sent_at,
        received_at,
        skew_s=date_skew_s,
        max_age_s=date_max_age_s,
        warnings=warnings,
    )
    provider_id = headers.message_id or f"sha256:{parsed.content_hash}"
    text = _tidy(parsed.body.text, max_text_chars, warnings, "text")
    if parsed.provider_stripped_text:
        stripped = _tidy(parsed.provider_stripped_text, max_text_chars, warnings, "stripped text")
    else:
        stripped = strip_reply(text) if text is not None else None
    meta = dict(parsed.provider_meta)
    if headers.to:
        meta["to"] = headers.to[:512]
    if parsed.envelope_sender:
        meta["envelope_sender"] = parsed.envelope_sender[:320]
    if headers.automated_reason:
        meta["automated_reason"] = headers.automated_reason
    return InteractionEvent(
        event_id=event_id_for(provider, provider_id, EventType.MESSAGE_RECEIVED),
        type=EventType.MESSAGE_RECEIVED,
        channel=Channel.EMAIL,
        provider=provider,
        direction=Direction.INBOUND,
        occurred_at=occurred,
        received_at=received_at,
        customer=Customer(
            id=address[:320],
            display_name=headers.from_name[:256] if headers.from_name else None,
            kind="email",
            verified=parsed.authentication.vouches_for(address, trust=trust),
        ),
        conversation_key=conversation or conversation_key(parsed),
        content=Content(
            subject=headers.subject[:998] if headers.subject is not None else None,
            text=text,
            stripped_text=stripped,
            language=language_of(stripped or text, hint=headers.content_language),
            html=parsed.body.from_html,
            attachments=parsed.body.attachments,
            in_reply_to=headers.in_reply_to,
        ),
        automated=headers.automated_reason is not None,
        parse_warnings=tuple(w[:200] for w in dict.fromkeys(warnings))[:_MAX_WARNINGS],
        raw_ref=provider_id[:998],
        provider_meta=meta,
    )


@dataclass(frozen=True)
class MailgunToken:
    """A verified Mailgun signature's token, to be spent on one form (``form_sha256``)."""

    token: str
    signed_at: datetime
    tolerance_s: float
    form_sha256: str


class TokenReplayed(SwitchboardError):
    """A Mailgun token spent on another form: a replay, refused for good."""

    status_code = 409
    code = "token_replayed"


def thread_key(parsed: ParsedEmail, known: dict[str, str]) -> str:
    """The conversation of the first ancestor already published (root first), else the default."""
    headers = parsed.headers
    ancestors = (*headers.references, *((headers.in_reply_to,) if headers.in_reply_to else ()))
    for message_id in ancestors:
        if message_id in known:
            return known[message_id]
    return conversation_key(parsed)


async def parse_off_loop(
    parse: Callable[P, ParsedEmail], *args: P.args, **kwargs: P.kwargs
) -> ParsedEmail | UnprocessableEntity:
    """Run a provider's parser in a thread, so a large mail does not hold up other requests.

    Mail refused for its content comes back as the refusal, for :func:`accept` to answer
    with: that answer is final, so a Mailgun token is spent on it all the same.
    """
    try:
        return await asyncio.to_thread(parse, *args, **kwargs)
    except UnprocessableEntity as refusal:
        return refusal


async def accept(
    mail: ParsedEmail | UnprocessableEntity,
    *,
    provider: str,
    database: Database,
    producer: EventProducer,
    max_text_chars: int,
    date_skew_s: float,
    date_max_age_s: float,
    trust: SenderTrust,
    mailgun_token: MailgunToken | None = None,
) -> InteractionEvent:
    """Spend the Mailgun token, thread the mail and record it, then publish it.

    Each statement commits on its own and the broker is waited for after them, with no
    connection held: every step is idempotent, so a request the broker does not
    acknowledge (503) is handled again in full when the provider retries. The thread
    record it left is the mail's own and names the conversation the retry derives
    again; its Mailgun token, spent with this form, accepts the same form again. A
    final 4xx about the content keeps the token spent. The same token with the same
    form again is the provider retrying a request whose answer it lost: it is handled
    again (the event keeps its id, so consumers count it once). With another form it
    is a replay, refused for good.
    """
    try:
        return await _accept(
            mail,
            provider=provider,
            database=database,
            producer=producer,
            max_text_chars=max_text_chars,
            date_skew_s=date_skew_s,
            date_max_age_s=date_max_age_s,
            trust=trust,
            mailgun_token=mailgun_token,
        )
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable("the database is not reachable; retry later") from exc


async def _accept(
    mail: ParsedEmail | UnprocessableEntity,
    *,
    provider: str,
    database: Database,
    producer: EventProducer,
    max_text_chars: int,
    date_skew_s: float,
    date_max_age_s: float,
    trust: SenderTrust,
    mailgun_token: MailgunToken | None,
) -> InteractionEvent:
    received_at = utc_now()
    refusal: SwitchboardError | None = mail if isinstance(mail, UnprocessableEntity) else None
    event: InteractionEvent | None = None
    bounced: list[InteractionEvent] = []
    async with database.autocommit() as session:
        if mailgun_token is not None:
            await _spend(session, mailgun_token, received_at)
        if isinstance(mail, ParsedEmail):
            headers = mail.headers
            ancestors = [*headers.references, *filter(None, [headers.in_reply_to])]
            known = await repository.conversations_of(session, ancestors)
            try:
                event = normalize(
                    mail,
                    provider=provider,
                    received_at=received_at,
                    max_text_chars=max_text_chars,
                    date_skew_s=date_skew_s,
                    date_max_age_s=date_max_age_s,
                    trust=trust,
                    conversation=thread_key(mail, known),
                )
            except SwitchboardError as exc:
                refusal = exc
            else:
                if headers.message_id is not None:
                    await repository.remember_message(
                        session,
                        message_id=headers.message_id,
                        conversation_key=event.conversation_key,
                        seen_at=received_at,
                        subject=headers.subject,
                        recipient=first_address(headers.to),
                    )
                bounced = await _bounced_reply(session, mail, received_at)
    if refusal is not None:
        raise refusal
    assert event is not None
    await publish_interactions(producer, [event, *bounced])
    return event


def first_address(header: str | None) -> str | None:
    """The first address of an address header (the address the customer wrote to)."""
    for _, address in getaddresses([header or ""]):
        if "@" in address and len(address) <= 320:
            return address.strip().lower()
    return None


async def _bounced_reply(
    session: AsyncSession, mail: ParsedEmail, received_at: datetime
) -> list[InteractionEvent]:
    """The failed ``message.status`` of the reply a bounce returns, when it is one of ours."""
    if mail.bounce is None:
        return []
    message_id = mail.bounce.original_message_id
    reply = await repository.reply_sent_as(session, message_id)
    if reply is None:
        return []
    reason = mail.bounce.reason
    await repository.mark_bounced(session, reply.event_id, reason=reason, at=received_at)
    failed = status_event(
        reply, MessageStatus.FAILED, at=received_at, reason=reason, provider_message_id=message_id
    )
    return [failed]


async def _spend(session: AsyncSession, token: MailgunToken, received_at: datetime) -> None:
    claimed = await repository.claim_mailgun_token(
        session,
        token=token.token,
        signed_at=token.signed_at,
        seen_at=received_at,
        form_sha256=token.form_sha256,
    )
    if not claimed:
        raise TokenReplayed(
            "this Mailgun token was already used with another form: the request is a replay"
        )
    await repository.forget_mailgun_tokens_before(
        session, received_at - timedelta(seconds=2 * token.tolerance_s)
    )
