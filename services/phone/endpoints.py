"""HTTP endpoints of the phone connector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from services.phone import service, twilio
from services.phone.schemas import Accepted, BatchReport, GenericCall, RecordResult
from services.phone.settings import PhoneSettings
from shared.errors import BadRequest, PayloadTooLarge, Unauthorized, problems_of
from shared.service import Runtime, RuntimeDep, read_body
from shared.signatures import hmac_sha256_hex, signatures_match

router = APIRouter(tags=["phone"])

_CALLS = TypeAdapter(GenericCall | list[GenericCall])


def _settings(runtime: Runtime) -> PhoneSettings:
    settings: PhoneSettings = runtime.state["settings"]
    return settings


async def _twilio_form(
    request: Request, settings: PhoneSettings, signature: str | None
) -> list[tuple[str, str]]:
    """The verified form parameters of a Twilio request (401 when the signature is wrong)."""
    body = await read_body(request, settings.max_body_bytes)
    try:
        form = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        form = None
    url = str(request.url)
    if settings.public_base_url:
        url = settings.public_base_url.rstrip("/") + request.url.path
        if request.url.query:
            url += "?" + request.url.query
    token = settings.twilio_auth_token.get_secret_value()
    if form is None or not twilio.signature_matches(url, form, token, signature):
        raise Unauthorized("X-Twilio-Signature is missing or does not match the request")
    return form


async def _record_voice(request: Request, runtime: Runtime, signature: str | None) -> list[str]:
    settings = _settings(runtime)
    form = await _twilio_form(request, settings, signature)
    report = twilio.voice_report(form, received_at=service.now())
    (outcome,) = await service.record_reports(
        [report],
        database=runtime.database,
        producer=runtime.producer,
        received_at=service.now(),
        region=settings.default_region,
    )
    return outcome.event_ids


@router.post("/twilio/voice")
async def twilio_voice(
    request: Request,
    runtime: RuntimeDep,
    x_twilio_signature: Annotated[str | None, Header()] = None,
) -> Response:
    """Twilio's voice webhook for a new call: record it, answer TwiML that queues the caller."""
    await _record_voice(request, runtime, x_twilio_signature)
    queue = _settings(runtime).voice_queue
    twiml = f'<?xml version="1.0" encoding="UTF-8"?><Response><Enqueue>{queue}</Enqueue></Response>'
    return Response(twiml, media_type="text/xml")


@router.post("/twilio/voice/status", response_model=Accepted)
async def twilio_voice_status(
    request: Request,
    runtime: RuntimeDep,
    x_twilio_signature: Annotated[str | None, Header()] = None,
) -> Accepted:
    """Twilio call status callbacks, in any order and repeated: one consistent call each."""
    return Accepted(event_ids=await _record_voice(request, runtime, x_twilio_signature))


@router.post("/twilio/sms", response_model=Accepted)
async def twilio_sms(
    request: Request,
    runtime: RuntimeDep,
    x_twilio_signature: Annotated[str | None, Header()] = None,
) -> Accepted:
    """Twilio Messaging's inbound SMS and MMS webhook."""
    settings = _settings(runtime)
    form = await _twilio_form(request, settings, x_twilio_signature)
    event = twilio.sms_event(form, received_at=service.now(), region=settings.default_region)
    await service.publish(runtime.producer, [event])
    return Accepted(event_ids=[str(event.event_id)])


@router.post("/asterisk/cdr", response_model=BatchReport)
async def asterisk_cdr(
    request: Request,
    runtime: RuntimeDep,
    authorization: Annotated[str | None, Header()] = None,
) -> BatchReport:
    """Upload Asterisk `Master.csv` CDRs (any size, streamed); reports every row's fate."""
    settings = _settings(runtime)
    expected = "Bearer " + settings.cdr_token.get_secret_value()
    if not signatures_match(expected, authorization):
        raise Unauthorized("Authorization must be 'Bearer <PHONE_CDR_TOKEN>'")

    async def limited() -> AsyncIterator[bytes]:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_upload_bytes:
                raise PayloadTooLarge(f"upload exceeds {settings.max_upload_bytes} bytes")
            yield chunk

    results = await service.ingest_cdr_upload(
        limited(),
        database=runtime.database,
        producer=runtime.producer,
        region=settings.default_region,
        chunk_rows=settings.upload_chunk_rows,
    )
    return BatchReport.of(results)


@router.post("/calls", response_model=BatchReport)
async def generic_calls(
    request: Request,
    runtime: RuntimeDep,
    x_switchboard_signature: Annotated[str | None, Header()] = None,
) -> BatchReport:
    """Call logs of any telephony system: one call or a list, signed with HMAC-SHA256."""
    settings = _settings(runtime)
    body = await read_body(request, settings.max_body_bytes)
    expected = "sha256=" + hmac_sha256_hex(settings.generic_secret.get_secret_value(), body)
    if not signatures_match(expected, x_switchboard_signature):
        raise Unauthorized("X-Switchboard-Signature is missing or does not match the body")
    try:
        parsed = _CALLS.validate_json(body)
    except ValidationError as exc:
        raise BadRequest(
            "call log is invalid", detail=problems_of(exc.errors(include_url=False))
        ) from None
    calls = parsed if isinstance(parsed, list) else [parsed]
    received_at = service.now()
    outcomes = await service.record_reports(
        [service.generic_report(call, received_at=received_at) for call in calls],
        database=runtime.database,
        producer=runtime.producer,
        received_at=received_at,
        region=settings.default_region,
    )
    results: list[RecordResult] = [
        service.result_of(index, outcome) for index, outcome in enumerate(outcomes, start=1)
    ]
    return BatchReport.of(results)
