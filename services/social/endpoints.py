"""HTTP endpoints of the social connector."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from services.social import security, service
from services.social.deps import ProducerDep, SettingsDep
from services.social.schemas import (
    Accepted,
    CrcResponse,
    MetaWebhook,
    TelegramUpdate,
    XActivity,
    parse,
    parse_meta,
)
from services.social.security import MetaBody, TelegramBody, XBody
from shared.clock import utc_now
from shared.events import InteractionEvent
from shared.openapi import webhook

router = APIRouter(tags=["social"])


def _accepted(events: list[InteractionEvent]) -> Accepted:
    return Accepted(event_ids=[str(event.event_id) for event in events])


@router.get("/webhooks/meta", response_class=PlainTextResponse)
async def meta_verification(
    settings: SettingsDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    """Meta's subscription handshake: echo `hub.challenge` when `hub.verify_token` is ours."""
    answer = security.meta_challenge(
        settings=settings, mode=mode, verify_token=verify_token, challenge=challenge
    )
    return PlainTextResponse(answer)


@router.post(
    "/webhooks/meta",
    response_model=Accepted,
    openapi_extra=webhook(signature="MetaSignature", body=MetaWebhook),
)
async def meta_webhook(body: MetaBody, producer: ProducerDep) -> Accepted:
    """Messenger, Instagram and WhatsApp webhooks signed with `X-Hub-Signature-256`."""
    events = await service.ingest_meta(parse_meta(body), producer=producer, received_at=utc_now())
    return _accepted(events)


@router.get("/webhooks/x", response_model=CrcResponse)
async def x_crc(
    settings: SettingsDep, crc_token: Annotated[str | None, Query()] = None
) -> CrcResponse:
    """X's challenge-response check: HMAC the `crc_token` with the consumer secret."""
    token = security.x_crc_response(settings=settings, crc_token=crc_token)
    return CrcResponse(response_token=token)


@router.post(
    "/webhooks/x",
    response_model=Accepted,
    openapi_extra=webhook(signature="XSignature", body=XActivity),
)
async def x_webhook(body: XBody, producer: ProducerDep) -> Accepted:
    """X Account Activity deliveries signed with `x-twitter-webhooks-signature`."""
    activity = parse(XActivity, body)
    events = await service.ingest_x(activity, producer=producer, received_at=utc_now())
    return _accepted(events)


@router.post(
    "/webhooks/telegram",
    response_model=Accepted,
    openapi_extra=webhook(signature="TelegramSecret", body=TelegramUpdate),
)
async def telegram_webhook(body: TelegramBody, producer: ProducerDep) -> Accepted:
    """Telegram Bot API updates carrying `X-Telegram-Bot-Api-Secret-Token`."""
    update = parse(TelegramUpdate, body)
    events = await service.ingest_telegram(update, producer=producer, received_at=utc_now())
    return _accepted(events)
