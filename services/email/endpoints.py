"""HTTP endpoints of the email connector: one per provider, and raw MIME."""

import asyncio
from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from services.email import service
from services.email.deps import DatabaseDep, ProducerDep, SettingsDep
from services.email.forms import parse_form
from services.email.mime import ParsedEmail, parse_mime
from services.email.providers import from_mailgun, from_postmark, from_sendgrid
from services.email.schemas import Accepted, PostmarkInbound
from services.email.security import (
    VerifiedMailgunPost,
    mime_bearer,
    postmark_basic_auth,
    sendgrid_basic_auth,
)
from services.email.service import MailgunToken
from services.email.settings import EmailSettings
from shared.db import Database
from shared.errors import invalid_body
from shared.events import InteractionEvent
from shared.kafka import EventProducer
from shared.openapi import webhook
from shared.refusals import final_refusals
from shared.service import read_body

router = APIRouter(prefix="/inbound", tags=["email"])

#: Mailgun retries a route POST for 8 hours unless it is answered 406, Postmark an inbound
#: webhook for 10.5 hours unless 403: their requests no retry can change get that status.
#: (A wrong signature or password stays 401, retried: the usual cause is a rotated secret.)
MAILGUN_FINAL = Depends(final_refusals(status_code=406))
POSTMARK_FINAL = Depends(final_refusals(status_code=403))


def _accepted(event: InteractionEvent) -> Accepted:
    return Accepted(
        event_id=str(event.event_id),
        conversation_key=event.conversation_key,
        automated=event.automated,
        parse_warnings=list(event.parse_warnings),
    )


async def _receive(
    parse: Callable[..., ParsedEmail],
    raw: object,
    *,
    provider: str,
    settings: EmailSettings,
    database: Database,
    producer: EventProducer,
    mailgun_token: MailgunToken | None = None,
) -> Accepted:
    """Parse ``raw`` with the provider's parser off the event loop, then accept the mail."""
    mail = await service.parse_off_loop(parse, raw, limits=settings.parse_limits())
    event = await service.accept(
        mail,
        provider=provider,
        database=database,
        producer=producer,
        max_text_chars=settings.max_text_chars,
        date_skew_s=settings.date_skew_s,
        date_max_age_s=settings.date_max_age_s,
        trust=settings.sender_trust(),
        mailgun_token=mailgun_token,
    )
    return _accepted(event)


#: What the connector reads of the providers' forms.
MAILGUN_FORM = {
    "timestamp": "signature: Unix seconds",
    "token": "signature: a random token, accepted once",
    "signature": "signature: hex HMAC-SHA256 of timestamp + token with the signing key",
    "sender": "the envelope sender",
    "From": "the From header",
    "subject": "the subject",
    "body-plain": "the text part (or body-mime: the whole message)",
    "Message-Id": "the message id",
    "message-headers": "JSON list of [name, value] headers",
    "attachment-count": "attachments follow as attachment-1...",
}
SENDGRID_FORM = {
    "from": "the From header",
    "subject": "the subject",
    "text": "the text part (or email: the whole message, in raw mode)",
    "headers": "the headers, as text",
    "envelope": "JSON with from and to",
    "SPF": "SendGrid's SPF verdict",
    "dkim": "SendGrid's DKIM verdicts",
    "attachments": "how many; attachment1... follow",
}


@router.post(
    "/mailgun",
    response_model=Accepted,
    dependencies=[MAILGUN_FINAL],
    openapi_extra=webhook(
        signature="MailgunSignature", form=MAILGUN_FORM, media_type="multipart/form-data"
    ),
    responses={406: {"description": "Refused for good (bad input, a replay): not retried"}},
)
async def mailgun_inbound(
    post: VerifiedMailgunPost,
    settings: SettingsDep,
    database: DatabaseDep,
    producer: ProducerDep,
) -> Accepted:
    """Accept a Mailgun route POST (parsed fields or `body-mime`), signed with the signing key."""
    return await _receive(
        from_mailgun,
        post.form,
        provider="mailgun",
        settings=settings,
        database=database,
        producer=producer,
        mailgun_token=post.token,
    )


@router.post(
    "/sendgrid",
    response_model=Accepted,
    dependencies=[Depends(sendgrid_basic_auth)],
    openapi_extra=webhook(
        signature="BasicAuth", form=SENDGRID_FORM, media_type="multipart/form-data"
    ),
)
async def sendgrid_inbound(
    request: Request, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> Accepted:
    """Accept a SendGrid Inbound Parse POST (parsed or raw mode), behind basic auth."""
    body = await read_body(request, settings.max_body_bytes)
    form = await asyncio.to_thread(
        parse_form, request.headers.get("content-type"), body, settings.max_form_fields
    )
    return await _receive(
        from_sendgrid,
        form,
        provider="sendgrid",
        settings=settings,
        database=database,
        producer=producer,
    )


@router.post(
    "/postmark",
    response_model=Accepted,
    dependencies=[POSTMARK_FINAL, Depends(postmark_basic_auth)],
    openapi_extra=webhook(signature="BasicAuth", body=PostmarkInbound),
    responses={403: {"description": "Refused for good (bad input): not retried"}},
)
async def postmark_inbound(
    request: Request, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> Accepted:
    """Accept Postmark's inbound JSON, behind basic auth."""
    body = await read_body(request, settings.max_body_bytes)
    try:
        payload = PostmarkInbound.model_validate_json(body)
    except ValidationError as exc:
        raise invalid_body(exc, "Postmark inbound JSON is invalid") from None
    return await _receive(
        from_postmark,
        payload,
        provider="postmark",
        settings=settings,
        database=database,
        producer=producer,
    )


@router.post(
    "/mime",
    response_model=Accepted,
    dependencies=[Depends(mime_bearer)],
    openapi_extra=webhook(
        signature="BearerToken",
        media_type="message/rfc822",
        form={"message": "one whole RFC 5322 message, headers and body"},
    ),
)
async def mime_inbound(
    request: Request, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> Accepted:
    """Accept one whole RFC 5322 message (`message/rfc822` body), with a bearer token."""
    body = await read_body(request, settings.max_body_bytes)
    return await _receive(
        parse_mime, body, provider="mime", settings=settings, database=database, producer=producer
    )
