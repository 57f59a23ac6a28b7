"""HTTP endpoints of the email connector: one per provider, and raw MIME."""

from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from services.email import service
from services.email.deps import DatabaseDep, ProducerDep, SettingsDep
from services.email.forms import parse_form
from services.email.mime import parse_mime
from services.email.providers import from_mailgun, from_postmark, from_sendgrid
from services.email.schemas import Accepted, PostmarkInbound
from services.email.security import (
    VerifiedMailgunPost,
    mime_bearer,
    postmark_basic_auth,
    sendgrid_basic_auth,
)
from shared.errors import invalid_body
from shared.events import InteractionEvent
from shared.service import read_body

router = APIRouter(prefix="/inbound", tags=["email"])


def _accepted(event: InteractionEvent) -> Accepted:
    return Accepted(
        event_id=str(event.event_id),
        conversation_key=event.conversation_key,
        automated=event.automated,
        parse_warnings=list(event.parse_warnings),
    )


@router.post("/mailgun", response_model=Accepted)
async def mailgun_inbound(
    post: VerifiedMailgunPost,
    settings: SettingsDep,
    database: DatabaseDep,
    producer: ProducerDep,
) -> Accepted:
    """Accept a Mailgun route POST (parsed fields or `body-mime`), signed with the signing key."""
    mail = await service.parse_off_loop(
        from_mailgun, post.form, max_attachments=settings.max_attachments
    )
    event = await service.accept(
        mail,
        provider="mailgun",
        database=database,
        producer=producer,
        max_text_chars=settings.max_text_chars,
        mailgun_token=post.token,
    )
    return _accepted(event)


@router.post("/sendgrid", response_model=Accepted, dependencies=[Depends(sendgrid_basic_auth)])
async def sendgrid_inbound(
    request: Request, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> Accepted:
    """Accept a SendGrid Inbound Parse POST (parsed or raw mode), behind basic auth."""
    body = await read_body(request, settings.max_body_bytes)
    form = parse_form(request.headers.get("content-type"), body)
    mail = await service.parse_off_loop(
        from_sendgrid, form, max_attachments=settings.max_attachments
    )
    event = await service.accept(
        mail,
        provider="sendgrid",
        database=database,
        producer=producer,
        max_text_chars=settings.max_text_chars,
    )
    return _accepted(event)


@router.post("/postmark", response_model=Accepted, dependencies=[Depends(postmark_basic_auth)])
async def postmark_inbound(
    request: Request, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> Accepted:
    """Accept Postmark's inbound JSON, behind basic auth."""
    body = await read_body(request, settings.max_body_bytes)
    try:
        payload = PostmarkInbound.model_validate_json(body)
    except ValidationError as exc:
        raise invalid_body(exc, "Postmark inbound JSON is invalid") from None
    mail = await service.parse_off_loop(
        from_postmark, payload, max_attachments=settings.max_attachments
    )
    event = await service.accept(
        mail,
        provider="postmark",
        database=database,
        producer=producer,
        max_text_chars=settings.max_text_chars,
    )
    return _accepted(event)


@router.post("/mime", response_model=Accepted, dependencies=[Depends(mime_bearer)])
async def mime_inbound(
    request: Request, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> Accepted:
    """Accept one whole RFC 5322 message (`message/rfc822` body), with a bearer token."""
    body = await read_body(request, settings.max_body_bytes)
    mail = await service.parse_off_loop(parse_mime, body, max_attachments=settings.max_attachments)
    event = await service.accept(
        mail,
        provider="mime",
        database=database,
        producer=producer,
        max_text_chars=settings.max_text_chars,
    )
    return _accepted(event)
