"""HTTP endpoints of the phone connector."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from services.phone import asterisk, service
from services.phone.deps import DatabaseDep, ProducerDep, SettingsDep
from services.phone.outbound.sms import STATUS_CALLBACK_PATH
from services.phone.schemas import Accepted, BatchReport, GenericCall
from services.phone.security import GenericCallLog, TwilioForm, cdr_bearer
from shared.errors import BadRequest, PayloadTooLarge, problems_of

router = APIRouter(tags=["phone"])

_CALLS = TypeAdapter(GenericCall | list[GenericCall])


@router.post("/twilio/voice")
async def twilio_voice(
    form: TwilioForm, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> Response:
    """Twilio's voice webhook for a new call: record it, answer TwiML that queues the caller."""
    await service.record_twilio_voice(
        form, database=database, producer=producer, region=settings.default_region
    )
    queue = settings.voice_queue
    twiml = f'<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue>{queue}</Enqueue></Response>'
    return Response(twiml, media_type="text/xml")


@router.post("/twilio/voice/status", response_model=Accepted)
async def twilio_voice_status(
    form: TwilioForm, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> Accepted:
    """Twilio call status callbacks, in any order and repeated: one consistent call each."""
    event_ids = await service.record_twilio_voice(
        form, database=database, producer=producer, region=settings.default_region
    )
    return Accepted(event_ids=event_ids)


@router.post("/twilio/sms", response_model=Accepted)
async def twilio_sms(form: TwilioForm, settings: SettingsDep, producer: ProducerDep) -> Accepted:
    """Twilio Messaging's inbound SMS and MMS webhook."""
    event_id = await service.publish_twilio_sms(
        form, producer=producer, region=settings.default_region
    )
    return Accepted(event_ids=[event_id])


@router.post(STATUS_CALLBACK_PATH, response_model=Accepted)
async def twilio_sms_status(
    form: TwilioForm, settings: SettingsDep, producer: ProducerDep
) -> Accepted:
    """Twilio's status callbacks of the SMS replies we sent: delivered, read or failed."""
    event_ids = await service.publish_twilio_sms_status(
        form, producer=producer, region=settings.default_region
    )
    return Accepted(event_ids=event_ids)


@router.post("/asterisk/cdr", response_model=BatchReport, dependencies=[Depends(cdr_bearer)])
async def asterisk_cdr(
    request: Request, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> BatchReport:
    """Upload Asterisk `Master.csv` CDRs (any size, streamed); counts every row's fate."""

    async def limited() -> AsyncIterator[bytes]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_upload_bytes:
                raise PayloadTooLarge(f"upload exceeds {settings.max_upload_bytes} bytes")
            yield chunk

    try:
        return await service.ingest_cdr_upload(
            limited(),
            database=database,
            producer=producer,
            region=settings.default_region,
            chunk_rows=settings.upload_chunk_rows,
            max_line_bytes=settings.cdr_max_line_bytes,
            listed_rows=settings.cdr_report_rows,
        )
    except asterisk.LineTooLong as exc:
        raise PayloadTooLarge(
            str(exc), detail={"line": exc.number, "max_line_bytes": exc.limit}
        ) from None


@router.post("/calls", response_model=BatchReport)
async def generic_calls(
    delivery: GenericCallLog, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> BatchReport:
    """Call logs of any telephony system: one call or a list, signed as Standard Webhooks sign."""
    try:
        parsed = _CALLS.validate_json(delivery.body)
    except ValidationError as exc:
        raise BadRequest(
            "call log is invalid", detail=problems_of(exc.errors(include_url=False))
        ) from None
    calls = parsed if isinstance(parsed, list) else [parsed]
    for call in calls:
        delivery.require_source(call.source)
    results = await service.record_generic_calls(
        calls,
        delivery=delivery,
        database=database,
        producer=producer,
        region=settings.default_region,
    )
    return BatchReport.of(results)
