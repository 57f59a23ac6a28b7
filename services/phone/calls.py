"""A call as the sources report it, and the lifecycle events a report adds.

Twilio reports a call piece by piece (ringing, in progress, completed), in any
order and sometimes twice; a CDR or a call log reports it whole. Either way a
call yields exactly one ``call.started``, at most one ``call.answered`` and
exactly one ``call.ended``: :func:`lifecycle_events` emits only what the stored
:class:`CallState` says is still missing.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from services.phone.numbers import to_e164
from shared.events import (
    Attachment,
    CallDisposition,
    CallInfo,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)


@dataclass(frozen=True)
class CallReport:
    """What one source says of a call at one moment."""

    provider: str
    call_id: str
    direction: Direction
    caller: str
    callee: str
    reported_at: datetime
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    disposition: CallDisposition | None = None  # None while the call goes on
    queue_wait_seconds: float | None = None
    talk_seconds: float | None = None
    recording_ref: str | None = None
    sequence: int | None = None
    provider_meta: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.call_id}"


@dataclass(frozen=True)
class CallState:
    """Which lifecycle events of a call were already published."""

    started: bool = False
    answered: bool = False
    ended: bool = False
    #: Sent to voicemail (out of hours): however it ends, it ends as a voicemail.
    voicemail: bool = False
    #: Its recording reached the conversation, on ``call.ended`` or as a message.
    recorded: bool = False


@dataclass(frozen=True)
class Recording:
    """A call's recording, as the ``<Record action>`` request or a recording status callback
    reports it."""

    provider: str
    call_id: str
    #: The provider's id of the recording (Twilio's ``RecordingSid``), else its URL.
    recording_id: str
    url: str
    reported_at: datetime
    seconds: float | None = None

    @property
    def key(self) -> str:
        return f"{self.provider}:{self.call_id}"


class RedirectKind(StrEnum):
    """Where a call is redirected: to the agent who accepted it, or to voicemail."""

    AGENT = "agent"
    VOICEMAIL = "voicemail"


class RedirectState(StrEnum):
    """Where connecting an accepted call to its agent stands.

    ``redirecting`` is left behind only by a connector that stopped while Twilio answered:
    such a call is never redirected twice automatically.
    """

    REDIRECTING = "redirecting"
    REDIRECTED = "redirected"
    FAILED = "failed"
    NOT_WAITING = "not_waiting"  # the call had ended, or was never reported to us


def lifecycle_events(
    report: CallReport, state: CallState, *, received_at: datetime, region: str
) -> tuple[list[InteractionEvent], CallState]:
    """The events ``report`` adds to a call in ``state``, and the state after them."""
    events: list[InteractionEvent] = []
    if state.ended:
        # A voicemail's <Record action> requested after the call's end: the recording
        # reaches the conversation as a message.
        recording = _voicemail_recording(report)
        if recording is None:
            return events, state
        customer = customer_of(report, region)
        return recording_events(recording, state, customer, received_at=received_at)
    if state.voicemail:
        report = _as_voicemail(report)
    if state.recorded:
        # Its recording already reached the conversation as a message.
        report = replace(report, recording_ref=None)
    answered_at = report.answered_at
    if answered_at is None and report.disposition is CallDisposition.ANSWERED and report.ended_at:
        answered_at = report.ended_at - timedelta(seconds=report.talk_seconds or 0)
    started_at = report.started_at or answered_at or report.ended_at or report.reported_at

    def event(kind: EventType, at: datetime, info: CallInfo) -> InteractionEvent:
        return _event(report, kind, at, info, received_at=received_at, region=region)

    numbers = _numbers(report, region)
    if not state.started:
        events.append(event(EventType.CALL_STARTED, started_at, CallInfo(**numbers)))
        state = replace(state, started=True)
    if answered_at is not None and not state.answered:
        info = CallInfo(**numbers, queue_wait_seconds=_wait(report, started_at, answered_at))
        events.append(event(EventType.CALL_ANSWERED, answered_at, info))
        state = replace(state, answered=True)
    if report.disposition is not None:
        info = CallInfo(
            **numbers,
            queue_wait_seconds=_wait(report, started_at, answered_at or report.ended_at),
            talk_seconds=report.talk_seconds,
            disposition=report.disposition,
            recording_ref=report.recording_ref,
        )
        events.append(event(EventType.CALL_ENDED, report.ended_at or report.reported_at, info))
        state = replace(state, ended=True, recorded=state.recorded or bool(report.recording_ref))
    return events, state


def recording_events(
    recording: Recording, state: CallState, customer: Customer, *, received_at: datetime
) -> tuple[list[InteractionEvent], CallState]:
    """The message a recording adds to its call's conversation, unless the recording reached
    it before (on the call's ``call.ended``, or as this same message)."""
    if state.recorded:
        return [], state
    return [recording_message(recording, customer, received_at=received_at)], replace(
        state, recorded=True
    )


def recording_message(
    recording: Recording, customer: Customer, *, received_at: datetime
) -> InteractionEvent:
    """A ``message.received`` on the call's conversation carrying the recording, as routing
    shows a voicemail that ``call.ended`` carries."""
    seconds = f"{recording.seconds:g}" if recording.seconds is not None else None
    meta = {"recording_id": recording.recording_id}
    if seconds is not None:
        meta["recording_seconds"] = seconds
    # Twilio serves a recording's URL as WAV.
    kind = "audio/x-wav" if recording.provider == "twilio_voice" else "application/octet-stream"
    return InteractionEvent(
        event_id=event_id_for(
            recording.provider,
            f"{recording.call_id}:{recording.recording_id}",
            EventType.MESSAGE_RECEIVED,
        ),
        type=EventType.MESSAGE_RECEIVED,
        channel=Channel.PHONE,
        provider=recording.provider,
        direction=Direction.INBOUND,
        occurred_at=recording.reported_at,
        received_at=received_at,
        customer=customer,
        conversation_key=recording.key,
        content=Content(
            text=f"Voicemail ({seconds} s)" if seconds else "Voicemail",
            content_type="audio",
            attachments=(
                Attachment(name="voicemail", content_type=kind, provider_media_id=recording.url),
            ),
        ),
        raw_ref=recording.call_id,
        provider_meta=meta,
    )


def _voicemail_recording(report: CallReport) -> Recording | None:
    if report.disposition is not CallDisposition.VOICEMAIL or not report.recording_ref:
        return None
    seconds = report.provider_meta.get("recording_seconds")
    return Recording(
        provider=report.provider,
        call_id=report.call_id,
        recording_id=report.provider_meta.get("recording_sid") or report.recording_ref,
        url=report.recording_ref,
        reported_at=report.reported_at,
        seconds=float(seconds) if seconds is not None else None,
    )


def _as_voicemail(report: CallReport) -> CallReport:
    """A report on a call in voicemail: Twilio answered it, no agent did, and it ends as a
    voicemail (``completed`` with a duration would otherwise read as answered)."""
    if report.disposition is None:
        return replace(report, answered_at=None)
    return replace(
        report, answered_at=None, talk_seconds=None, disposition=CallDisposition.VOICEMAIL
    )


def _wait(report: CallReport, start: datetime, until: datetime | None) -> float | None:
    if report.queue_wait_seconds is not None:
        return report.queue_wait_seconds
    if until is None:
        return None
    return max(0.0, (until - start).total_seconds())


def _numbers(report: CallReport, region: str) -> dict[str, str]:
    return {
        "from_number": to_e164(report.caller, region=region) or report.caller,
        "to_number": to_e164(report.callee, region=region) or report.callee,
    }


def customer_of(report: CallReport, region: str) -> Customer:
    """The caller of an inbound call, the callee of an outbound one."""
    raw = report.caller if report.direction is Direction.INBOUND else report.callee
    number = to_e164(raw, region=region)
    return Customer(id=number or raw, kind="phone" if number else "address")


def _event(
    report: CallReport,
    kind: EventType,
    at: datetime,
    info: CallInfo,
    *,
    received_at: datetime,
    region: str,
) -> InteractionEvent:
    return InteractionEvent(
        event_id=event_id_for(report.provider, report.call_id, kind),
        type=kind,
        channel=Channel.PHONE,
        provider=report.provider,
        direction=report.direction,
        occurred_at=at,
        received_at=received_at,
        customer=customer_of(report, region),
        conversation_key=report.key,
        call=info,
        raw_ref=report.call_id,
        provider_meta=report.provider_meta,
    )
