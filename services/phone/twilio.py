"""Twilio: voice and SMS webhooks as reports and events (their signatures: security.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from services.phone.calls import CallReport, Recording
from services.phone.numbers import to_e164
from shared.errors import BadRequest
from shared.events import (
    Attachment,
    CallDisposition,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    MessageStatus,
    event_id_for,
)
from shared.language import language_of

Form = Sequence[tuple[str, str]]

#: The provider of Twilio's calls (their conversation keys are ``twilio_voice:<CallSid>``).
VOICE_PROVIDER = "twilio_voice"

#: Final call statuses and the disposition each means.
DISPOSITIONS = {
    "busy": CallDisposition.BUSY,
    "no-answer": CallDisposition.MISSED,
    "canceled": CallDisposition.ABANDONED,
    "failed": CallDisposition.FAILED,
}


def _field(form: Form, name: str, *, required: bool = True) -> str | None:
    for key, value in form:
        if key == name:
            return value
    if required:
        raise BadRequest("webhook is invalid", detail=[{"field": name, "problem": "missing"}])
    return None


def _required(form: Form, name: str) -> str:
    value = _field(form, name)
    assert value is not None
    if not value:
        raise BadRequest("webhook is invalid", detail=[{"field": name, "problem": "empty"}])
    return value


def _timestamp(form: Form, received_at: datetime) -> datetime:
    raw = _field(form, "Timestamp", required=False)
    if not raw:
        return received_at
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        raise BadRequest(
            "webhook is invalid", detail=[{"field": "Timestamp", "problem": "not an RFC 2822 date"}]
        ) from None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(form: Form, name: str) -> float | None:
    raw = _field(form, name, required=False)
    if raw in (None, ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):  # "1e400" and "nan" parse as floats
        raise BadRequest("webhook is invalid", detail=[{"field": name, "problem": "not a number"}])
    if value < 0:
        raise BadRequest("webhook is invalid", detail=[{"field": name, "problem": "negative"}])
    return value


def voice_report(form: Form, *, received_at: datetime) -> CallReport:
    """A Twilio voice webhook or status callback as a report on its call."""
    call_id = _required(form, "CallSid")
    status = _required(form, "CallStatus")
    at = _timestamp(form, received_at)
    direction_raw = _field(form, "Direction", required=False) or "inbound"
    direction = Direction.INBOUND if direction_raw == "inbound" else Direction.OUTBOUND
    duration = _number(form, "CallDuration")
    sequence = _number(form, "SequenceNumber")
    recording = _field(form, "RecordingUrl", required=False) or _field(
        form, "RecordingSid", required=False
    )
    report = CallReport(
        provider=VOICE_PROVIDER,
        call_id=call_id,
        direction=direction,
        caller=_field(form, "From", required=False) or "",
        callee=_field(form, "To", required=False) or "",
        reported_at=at,
        queue_wait_seconds=_number(form, "QueueTime"),
        sequence=int(sequence) if sequence is not None else None,
        provider_meta={"call_status": status, "direction": direction_raw},
    )
    if status in ("queued", "initiated", "ringing"):
        report = replace(report, started_at=at)
    elif status == "in-progress":
        report = replace(report, answered_at=at)
    elif status == "completed":
        answered = bool(duration)
        report = replace(
            report,
            ended_at=at,
            answered_at=at - timedelta(seconds=duration or 0) if answered else None,
            talk_seconds=duration if answered else None,
            disposition=CallDisposition.ANSWERED if answered else CallDisposition.MISSED,
            recording_ref=recording,
        )
    elif status in DISPOSITIONS:
        report = replace(report, ended_at=at, disposition=DISPOSITIONS[status])
    else:
        raise BadRequest(
            "webhook is invalid",
            detail=[{"field": "CallStatus", "problem": f"unknown: {status!r}"}],
        )
    inbound = direction is Direction.INBOUND
    if not (report.caller if inbound else report.callee).strip():
        field = "From" if inbound else "To"
        raise BadRequest("webhook is invalid", detail=[{"field": field, "problem": "missing"}])
    return report


def voicemail_report(form: Form, *, received_at: datetime) -> CallReport:
    """The request of a voicemail's ``<Record action>``: the call ends as a voicemail.

    Twilio sends it with the voice request's own fields (``CallSid``, ``From``, ``To``,
    ``Direction``) and the recording's ``RecordingUrl``, ``RecordingDuration`` and, where
    it names it, ``RecordingSid``; the recording reference is the URL, else the SID.
    """
    call_id = _required(form, "CallSid")
    direction_raw = _field(form, "Direction", required=False) or "inbound"
    direction = Direction.INBOUND if direction_raw == "inbound" else Direction.OUTBOUND
    recording_sid = _field(form, "RecordingSid", required=False)
    recording = _field(form, "RecordingUrl", required=False) or recording_sid
    if not recording:
        raise BadRequest(
            "webhook is invalid", detail=[{"field": "RecordingUrl", "problem": "missing"}]
        )
    duration = _number(form, "RecordingDuration")
    at = _timestamp(form, received_at)
    meta = {"direction": direction_raw}
    if duration is not None:
        meta["recording_seconds"] = f"{duration:g}"
    if recording_sid:
        meta["recording_sid"] = recording_sid
    report = CallReport(
        provider=VOICE_PROVIDER,
        call_id=call_id,
        direction=direction,
        caller=_field(form, "From", required=False) or "",
        callee=_field(form, "To", required=False) or "",
        reported_at=at,
        ended_at=at,
        disposition=CallDisposition.VOICEMAIL,
        recording_ref=recording,
        provider_meta=meta,
    )
    inbound = direction is Direction.INBOUND
    if not (report.caller if inbound else report.callee).strip():
        field = "From" if inbound else "To"
        raise BadRequest("webhook is invalid", detail=[{"field": field, "problem": "missing"}])
    return report


def recording_report(form: Form, *, received_at: datetime) -> Recording | None:
    """A recording status callback (``recordingStatusCallback`` of a voicemail's
    ``<Record>``) as the call's recording; None for a status other than ``completed``
    (``absent``: too short or silent, ``failed``, ``in-progress``), which has no audio.

    Twilio sends ``AccountSid``, ``CallSid``, ``RecordingSid``, ``RecordingUrl``,
    ``RecordingStatus``, ``RecordingDuration`` and more, but not the call's numbers.
    """
    call_id = _required(form, "CallSid")
    recording_sid = _required(form, "RecordingSid")
    if _required(form, "RecordingStatus") != "completed":
        return None
    return Recording(
        provider=VOICE_PROVIDER,
        call_id=call_id,
        recording_id=recording_sid,
        url=_required(form, "RecordingUrl"),
        reported_at=received_at,
        seconds=_number(form, "RecordingDuration"),
    )


#: The SMS statuses a status callback reports that we publish; the others (queued,
#: sending, sent...) say no more than the ``sent`` published when Twilio took the message.
SMS_STATUSES = {
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
}


def sms_event(form: Form, *, received_at: datetime, region: str) -> InteractionEvent:
    """An inbound Twilio SMS or MMS as a ``message.received`` on the phone channel."""
    message_id = _required(form, "MessageSid")
    sender = _required(form, "From")
    recipient = _required(form, "To")
    customer = to_e164(sender, region=region)
    ours = to_e164(recipient, region=region) or recipient
    media_count = int(_number(form, "NumMedia") or 0)
    attachments = tuple(
        Attachment(
            content_type=_field(form, f"MediaContentType{i}", required=False)
            or "application/octet-stream",
            provider_media_id=_required(form, f"MediaUrl{i}"),
        )
        for i in range(media_count)
    )
    body = _field(form, "Body", required=False) or ""
    return InteractionEvent(
        event_id=event_id_for("twilio_sms", message_id, EventType.MESSAGE_RECEIVED),
        type=EventType.MESSAGE_RECEIVED,
        channel=Channel.PHONE,
        provider="twilio_sms",
        direction=Direction.INBOUND,
        occurred_at=received_at,
        received_at=received_at,
        customer=Customer(id=customer or sender, kind="phone" if customer else "address"),
        conversation_key=f"sms:{customer or sender}:{ours}",
        content=Content(
            text=body,
            language=language_of(body),
            content_type="mms" if attachments else "text",
            attachments=attachments,
        ),
        raw_ref=message_id,
        provider_meta={"to": ours},
    )


def sms_status_event(form: Form, *, received_at: datetime, region: str) -> InteractionEvent | None:
    """A status callback of an SMS we sent as a ``message.status``; None for passing statuses."""
    message_id = _required(form, "MessageSid")
    status = SMS_STATUSES.get(_required(form, "MessageStatus"))
    if status is None:
        return None
    recipient = _required(form, "To")
    sender = _required(form, "From")
    customer = to_e164(recipient, region=region)
    ours = to_e164(sender, region=region) or sender
    error_code = _field(form, "ErrorCode", required=False)
    return InteractionEvent(
        # Twilio repeats callbacks, and undelivered and failed are one status to us.
        event_id=event_id_for("twilio_sms", f"{message_id}:{status}", EventType.MESSAGE_STATUS),
        type=EventType.MESSAGE_STATUS,
        channel=Channel.PHONE,
        provider="twilio_sms",
        direction=Direction.OUTBOUND,
        occurred_at=received_at,
        received_at=received_at,
        customer=Customer(id=customer or recipient, kind="phone" if customer else "address"),
        conversation_key=f"sms:{customer or recipient}:{ours}",
        content=Content(
            status=status,
            status_reason=f"Twilio error {error_code}" if error_code else None,
        ),
        raw_ref=message_id,
    )
