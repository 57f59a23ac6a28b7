"""HTTP endpoints of the social connector."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import PlainTextResponse

from services.social import service
from services.social.schemas import (
    Accepted,
    CrcResponse,
    TelegramUpdate,
    XActivity,
    parse,
    parse_meta,
)
from services.social.settings import SocialSettings
from shared.events import InteractionEvent
from shared.service import Runtime, RuntimeDep, read_body

router = APIRouter(tags=["social"])


def _settings(runtime: Runtime) -> SocialSettings:
    settings: SocialSettings = runtime.state["settings"]
    return settings


def _accepted(events: list[InteractionEvent]) -> Accepted:
    return Accepted(event_ids=[str(event.event_id) for event in events])


@router.get("/webhooks/meta", response_class=PlainTextResponse)
async def meta_verification(
    runtime: RuntimeDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    """Meta's subscription handshake: echo `hub.challenge` when `hub.verify_token` is ours."""
    answer = service.meta_challenge(
        settings=_settings(runtime), mode=mode, verify_token=verify_token, challenge=challenge
    )
    return PlainTextResponse(answer)


@router.post("/webhooks/meta", response_model=Accepted)
async def meta_webhook(
    request: Request,
    runtime: RuntimeDep,
    x_hub_signature_256: Annotated[str | None, Header()] = None,
) -> Accepted:
    """Messenger, Instagram and WhatsApp webhooks signed with `X-Hub-Signature-256`."""
    settings = _settings(runtime)
    body = await read_body(request, settings.max_body_bytes)
    service.verify_meta_signature(settings=settings, body=body, signature=x_hub_signature_256)
    webhook = parse_meta(body)
    events = await service.ingest_meta(
        webhook, producer=runtime.producer, received_at=service.now()
    )
    return _accepted(events)


@router.get("/webhooks/x", response_model=CrcResponse)
async def x_crc(
    runtime: RuntimeDep, crc_token: Annotated[str | None, Query()] = None
) -> CrcResponse:
    """X's challenge-response check: HMAC the `crc_token` with the consumer secret."""
    token = service.x_crc_response(settings=_settings(runtime), crc_token=crc_token)
    return CrcResponse(response_token=token)


@router.post("/webhooks/x", response_model=Accepted)
async def x_webhook(
    request: Request,
    runtime: RuntimeDep,
    x_twitter_webhooks_signature: Annotated[str | None, Header()] = None,
) -> Accepted:
    """X Account Activity deliveries signed with `x-twitter-webhooks-signature`."""
    settings = _settings(runtime)
    body = await read_body(request, settings.max_body_bytes)
    service.verify_x_signature(settings=settings, body=body, signature=x_twitter_webhooks_signature)
    activity = parse(XActivity, body)
    events = await service.ingest_x(activity, producer=runtime.producer, received_at=service.now())
    return _accepted(events)


@router.post("/webhooks/telegram", response_model=Accepted)
async def telegram_webhook(
    request: Request,
    runtime: RuntimeDep,
    x_telegram_bot_api_secret_token: Annotated[str | None, Header()] = None,
) -> Accepted:
    """Telegram Bot API updates carrying `X-Telegram-Bot-Api-Secret-Token`."""
    settings = _settings(runtime)
    service.verify_telegram_token(settings=settings, token=x_telegram_bot_api_secret_token)
    body = await read_body(request, settings.max_body_bytes)
    update = parse(TelegramUpdate, body)
    events = await service.ingest_telegram(
        update, producer=runtime.producer, received_at=service.now()
    )
    return _accepted(events)
