"""HTTP endpoints of the email connector: one per provider, and raw MIME."""

from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import ValidationError

from services.email import service
from services.email.forms import parse_form
from services.email.mime import parse_mime
from services.email.providers import from_mailgun, from_postmark, from_sendgrid
from services.email.schemas import Accepted, PostmarkInbound
from services.email.security import verify_basic_auth, verify_bearer, verify_mailgun_signature
from services.email.settings import EmailSettings
from shared.errors import invalid_body
from shared.events import InteractionEvent
from shared.service import RuntimeDep, read_body

router = APIRouter(prefix="/inbound", tags=["email"])

Authorization = Annotated[str | None, Header()]


def _accepted(event: InteractionEvent) -> Accepted:
    return Accepted(
        event_id=str(event.event_id),
        conversation_key=event.conversation_key,
        automated=event.automated,
        parse_warnings=list(event.parse_warnings),
    )


@router.post("/mailgun", response_model=Accepted)
async def mailgun_inbound(request: Request, runtime: RuntimeDep) -> Accepted:
    """Accept a Mailgun route POST (parsed fields or `body-mime`), signed with the signing key."""
    settings: EmailSettings = runtime.state["settings"]
    body = await read_body(request, settings.max_body_bytes)
    form = parse_form(request.headers.get("content-type"), body)
    token, signed_at = verify_mailgun_signature(
        form,
        signing_key=settings.mailgun_signing_key.get_secret_value(),
        now=service.now(),
        tolerance_s=settings.mailgun_timestamp_tolerance_s,
    )
    event = await service.accept(
        lambda: from_mailgun(form, max_attachments=settings.max_attachments),
        provider="mailgun",
        database=runtime.database,
        producer=runtime.producer,
        max_text_chars=settings.max_text_chars,
        mailgun_token=service.MailgunToken(
            token=token,
            signed_at=signed_at,
            tolerance_s=settings.mailgun_timestamp_tolerance_s,
            form_sha256=form.digest(),
        ),
    )
    return _accepted(event)


@router.post("/sendgrid", response_model=Accepted)
async def sendgrid_inbound(
    request: Request, runtime: RuntimeDep, authorization: Authorization = None
) -> Accepted:
    """Accept a SendGrid Inbound Parse POST (parsed or raw mode), behind basic auth."""
    settings: EmailSettings = runtime.state["settings"]
    verify_basic_auth(
        authorization,
        username=settings.sendgrid_username,
        password=settings.sendgrid_password.get_secret_value(),
    )
    body = await read_body(request, settings.max_body_bytes)
    form = parse_form(request.headers.get("content-type"), body)
    event = await service.accept(
        lambda: from_sendgrid(form, max_attachments=settings.max_attachments),
        provider="sendgrid",
        database=runtime.database,
        producer=runtime.producer,
        max_text_chars=settings.max_text_chars,
    )
    return _accepted(event)


@router.post("/postmark", response_model=Accepted)
async def postmark_inbound(
    request: Request, runtime: RuntimeDep, authorization: Authorization = None
) -> Accepted:
    """Accept Postmark's inbound JSON, behind basic auth."""
    settings: EmailSettings = runtime.state["settings"]
    verify_basic_auth(
        authorization,
        username=settings.postmark_username,
        password=settings.postmark_password.get_secret_value(),
    )
    body = await read_body(request, settings.max_body_bytes)
    try:
        payload = PostmarkInbound.model_validate_json(body)
    except ValidationError as exc:
        raise invalid_body(exc, "Postmark inbound JSON is invalid") from None
    event = await service.accept(
        lambda: from_postmark(payload, max_attachments=settings.max_attachments),
        provider="postmark",
        database=runtime.database,
        producer=runtime.producer,
        max_text_chars=settings.max_text_chars,
    )
    return _accepted(event)


@router.post("/mime", response_model=Accepted)
async def mime_inbound(
    request: Request, runtime: RuntimeDep, authorization: Authorization = None
) -> Accepted:
    """Accept one whole RFC 5322 message (`message/rfc822` body), with a bearer token."""
    settings: EmailSettings = runtime.state["settings"]
    verify_bearer(authorization, token=settings.mime_token.get_secret_value())
    body = await read_body(request, settings.max_body_bytes)
    event = await service.accept(
        lambda: parse_mime(body, max_attachments=settings.max_attachments),
        provider="mime",
        database=runtime.database,
        producer=runtime.producer,
        max_text_chars=settings.max_text_chars,
    )
    return _accepted(event)
