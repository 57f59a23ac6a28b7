"""HTTP endpoints of the phone connector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from services.phone import asterisk, service
from services.phone.deps import DatabaseDep, ProducerDep, RelayDep, SettingsDep
from services.phone.outbound.sms import STATUS_CALLBACK_PATH
from services.phone.outbound.voice import RECORDING_PATH, VOICEMAIL_PATH
from services.phone.schemas import Accepted, BatchReport, GenericCall
from services.phone.security import GenericCallLog, TwilioForm, cdr_bearer
from shared.errors import BadRequest, PayloadTooLarge, problems_of
from shared.openapi import webhook

router = APIRouter(tags=["phone"])

_CALLS = TypeAdapter(GenericCall | list[GenericCall])

#: Twilio reads the answer to a voice or messaging webhook as TwiML (anything else is its
#: error 12300); its errors (401, 400, 413, 503) keep their JSON body, which only Twilio's
#: debugger shows.
FORM = "application/x-www-form-urlencoded"
_TWIML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/xml": {}}, "description": "TwiML"}
}


#: The form fields of Twilio's webhooks that the connector reads.
VOICE_FORM = {
    "CallSid": "the call",
    "CallStatus": "queued, ringing, in-progress, completed, busy, no-answer, failed, canceled",
    "From": "the caller (E.164)",
    "To": "the number called",
    "Direction": "inbound or outbound-api",
    "CallDuration": "on completed: seconds",
    "QueueTime": "seconds waited in the queue",
}
VOICEMAIL_FORM = {
    "CallSid": "the call",
    "From": "the caller (E.164)",
    "To": "the number called",
    "Direction": "inbound",
    "RecordingUrl": "the recorded message",
    "RecordingSid": "the recording, where Twilio names it",
    "RecordingDuration": "seconds recorded",
}
RECORDING_FORM = {
    "CallSid": "the call",
    "RecordingSid": "the recording",
    "RecordingUrl": "the recorded message",
    "RecordingStatus": "completed (added to the conversation), absent or failed (ignored)",
    "RecordingDuration": "seconds recorded",
}
SMS_FORM = {
    "MessageSid": "the message",
    "From": "the sender (E.164)",
    "To": "our number",
    "Body": "the text",
    "NumMedia": "how many media items (MediaUrl0..., MediaContentType0...)",
}
SMS_STATUS_FORM = {
    "MessageSid": "the reply we sent",
    "MessageStatus": "queued, sent, delivered, read, undelivered or failed",
    "ErrorCode": "on undelivered or failed",
}


def _twilio(fields: dict[str, str]) -> dict[str, Any]:
    return webhook(signature="TwilioSignature", form=fields, media_type=FORM)


def _twiml(verbs: str = "") -> Response:
    document = f"<Response>{verbs}</Response>" if verbs else "<Response/>"
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>{document}', media_type="text/xml")


@router.post(
    "/twilio/voice", response_class=Response, responses=_TWIML, openapi_extra=_twilio(VOICE_FORM)
)
async def twilio_voice(
    form: TwilioForm,
    settings: SettingsDep,
    database: DatabaseDep,
    producer: ProducerDep,
    relay: RelayDep,
) -> Response:
    """Twilio's voice webhook for a new call: TwiML that queues the caller, broker or not."""
    await service.answer_twilio_call(
        form, database=database, producer=producer, relay=relay, region=settings.default_region
    )
    return _twiml(f"<Enqueue>{escape(settings.voice_queue)}</Enqueue>")


@router.post(
    VOICEMAIL_PATH, response_class=Response, responses=_TWIML, openapi_extra=_twilio(VOICEMAIL_FORM)
)
async def twilio_voicemail(
    form: TwilioForm,
    settings: SettingsDep,
    database: DatabaseDep,
    producer: ProducerDep,
    relay: RelayDep,
) -> Response:
    """A voicemail left out of hours (`<Record action>`): the call ends as a voicemail."""
    await service.record_voicemail(
        form, database=database, producer=producer, relay=relay, region=settings.default_region
    )
    return _twiml("<Hangup/>")


@router.post(RECORDING_PATH, response_model=Accepted, openapi_extra=_twilio(RECORDING_FORM))
async def twilio_recording(form: TwilioForm, database: DatabaseDep, relay: RelayDep) -> Accepted:
    """A voicemail's recording status callback: the recording joins the call's conversation
    once, even when the call ended before the `<Record action>` was requested."""
    event_ids = await service.record_recording(form, database=database, relay=relay)
    return Accepted(event_ids=event_ids)


@router.post("/twilio/voice/status", response_model=Accepted, openapi_extra=_twilio(VOICE_FORM))
async def twilio_voice_status(
    form: TwilioForm, settings: SettingsDep, database: DatabaseDep, producer: ProducerDep
) -> Accepted:
    """Twilio call status callbacks, in any order and repeated: one consistent call each."""
    event_ids = await service.record_twilio_voice(
        form, database=database, producer=producer, region=settings.default_region
    )
    return Accepted(event_ids=event_ids)


@router.post(
    "/twilio/sms", response_class=Response, responses=_TWIML, openapi_extra=_twilio(SMS_FORM)
)
async def twilio_sms(form: TwilioForm, settings: SettingsDep, producer: ProducerDep) -> Response:
    """Twilio Messaging's inbound SMS and MMS webhook: empty TwiML once published."""
    await service.publish_twilio_sms(form, producer=producer, region=settings.default_region)
    return _twiml()


@router.post(STATUS_CALLBACK_PATH, response_model=Accepted, openapi_extra=_twilio(SMS_STATUS_FORM))
async def twilio_sms_status(
    form: TwilioForm, settings: SettingsDep, producer: ProducerDep
) -> Accepted:
    """Twilio's status callbacks of the SMS replies we sent: delivered, read or failed."""
    event_ids = await service.publish_twilio_sms_status(
        form, producer=producer, region=settings.default_region
    )
    return Accepted(event_ids=event_ids)


@router.post(
    "/asterisk/cdr",
    response_model=BatchReport,
    dependencies=[Depends(cdr_bearer)],
    openapi_extra=webhook(
        signature="BearerToken",
        media_type="text/csv",
        form={"rows": "Asterisk Master.csv lines (cdr_csv), any number, streamed"},
    ),
)
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


@router.post(
    "/calls",
    response_model=BatchReport,
    openapi_extra=webhook(signature="StandardWebhooks", body=GenericCall | list[GenericCall]),
)
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
