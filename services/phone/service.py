"""The phone connector's logic: call reports to lifecycle events, published once each."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from services.phone import asterisk, repository, twilio
from services.phone.calls import (
    CallReport,
    CallState,
    customer_of,
    lifecycle_events,
    recording_events,
)
from services.phone.models import webhook_message
from services.phone.report import ReportTally
from services.phone.schemas import BatchReport, GenericCall, RecordResult
from shared.clock import utc_now
from shared.db import Database
from shared.errors import BrokerUnavailable, DatabaseUnavailable
from shared.events import InteractionEvent
from shared.kafka import EventProducer, is_transient, publish_interactions
from shared.outbox import OutboxRelay
from shared.security import GenericDelivery
from shared.webhook_ids import handled_before, remember_handled

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """The events one report added to its call: none for a repeat."""

    report: CallReport
    event_ids: list[str]


async def publish(producer: EventProducer, events: Sequence[InteractionEvent]) -> None:
    await publish_interactions(producer, events)


async def record_reports(
    reports: Sequence[CallReport],
    *,
    database: Database,
    producer: EventProducer,
    received_at: datetime,
    region: str,
    keep: bool = False,
) -> list[Outcome]:
    """Publish what each report adds to its call; a call's state is locked meanwhile.

    The events are acknowledged by the broker before the state commits: should
    the commit fail, the provider's retry publishes the same event ids again,
    which consumers skip. With ``keep``, they are kept in the outbox instead, in the
    transaction that records the call, and the relay publishes them once it commits.
    A call whose events still wait in the outbox has its new events kept after them,
    whatever reported them, so that a call's events reach Kafka in their order.
    """
    if not reports:
        return []
    try:
        return await _record_reports(
            reports,
            database=database,
            producer=producer,
            received_at=received_at,
            region=region,
            keep=keep,
        )
    except (SQLAlchemyError, OSError) as exc:
        if not is_transient(exc):
            raise
        raise DatabaseUnavailable("the database is not reachable; retry later") from exc


async def _record_reports(
    reports: Sequence[CallReport],
    *,
    database: Database,
    producer: EventProducer,
    received_at: datetime,
    region: str,
    keep: bool,
) -> list[Outcome]:
    keys = sorted({r.key for r in reports})
    async with database.transaction() as session:
        states, new = await repository.lock_calls(session, keys)
        before = dict(states)
        outcomes: list[Outcome] = []
        events: list[InteractionEvent] = []
        sequences: dict[str, int] = {}
        for report in reports:
            added, states[report.key] = lifecycle_events(
                report, states[report.key], received_at=received_at, region=region
            )
            events += added
            outcomes.append(Outcome(report, [str(e.event_id) for e in added]))
            if report.sequence is not None:
                sequences[report.key] = max(report.sequence, sequences.get(report.key, 0))
        # A call's events enter the outbox in the transaction that records the call, or as
        # statuses of replies to its conversation, which follow its recording: a call new
        # here has none waiting.
        known = [key for key in keys if key not in new]
        waiting = set(keys) if keep else await repository.waiting_in_outbox(session, known)
        await publish(producer, [e for e in events if e.conversation_key not in waiting])
        await repository.keep_in_outbox(
            session, [e for e in events if e.conversation_key in waiting]
        )
        changed = {key: state for key, state in states.items() if state != before[key]}
        # Only Twilio's recording callbacks name a call without its numbers: the numbers of
        # other calls are not kept.
        customers = {
            r.key: customer_of(r, region)
            for r in reports
            if r.key in changed and r.provider == twilio.VOICE_PROVIDER
        }
        await repository.save_calls(session, changed, sequences, customers)
    return outcomes


async def record_twilio_voice(
    form: twilio.Form, *, database: Database, producer: EventProducer, region: str
) -> list[str]:
    """A Twilio call status callback: the ids of the events it added to its call."""
    received_at = utc_now()
    (outcome,) = await record_reports(
        [twilio.voice_report(form, received_at=received_at)],
        database=database,
        producer=producer,
        received_at=received_at,
        region=region,
    )
    return outcome.event_ids


async def answer_twilio_call(
    form: twilio.Form,
    *,
    database: Database,
    producer: EventProducer,
    relay: OutboxRelay,
    region: str,
) -> list[str]:
    """Twilio's voice webhook for a new call: the ids of the events it added to its call.

    The caller hears what the answer says, and Twilio does not retry a voice webhook,
    so the answer waits for no broker: the events are kept in the outbox with the call's
    state and relayed once committed. With Postgres out of reach they are published
    directly; should that fail too, the call's status callbacks publish its
    ``call.started`` later, since its state says it has not started.
    """
    received_at = utc_now()
    report = twilio.voice_report(form, received_at=received_at)
    return await _keep_call_report(
        report,
        received_at=received_at,
        database=database,
        producer=producer,
        relay=relay,
        region=region,
    )


async def record_voicemail(
    form: twilio.Form,
    *,
    database: Database,
    producer: EventProducer,
    relay: OutboxRelay,
    region: str,
) -> list[str]:
    """The recording of a voicemail: the call's ``call.ended`` (``voicemail``), the ids added.

    Twilio asks it for the TwiML the call goes on with, so it waits for no broker either.
    """
    received_at = utc_now()
    report = twilio.voicemail_report(form, received_at=received_at)
    return await _keep_call_report(
        report,
        received_at=received_at,
        database=database,
        producer=producer,
        relay=relay,
        region=region,
    )


async def record_recording(
    form: twilio.Form, *, database: Database, relay: OutboxRelay
) -> list[str]:
    """A recording status callback: the recording reaches its call's conversation as a
    message, unless it did before; the ids added.

    Twilio may report the call ``completed`` before it requests the ``<Record action>``
    (the caller hung up while recording): the call then ended without the recording, which
    this callback brings. The message is kept in the outbox, behind the call's own events.
    """
    received_at = utc_now()
    recording = twilio.recording_report(form, received_at=received_at)
    if recording is None:
        return []
    try:
        async with database.transaction() as session:
            found = await repository.lock_call(session, recording.key)
            state, customer = found if found is not None else (None, None)
            if state is None or customer is None:
                log.warning("recording of an unknown call", extra={"call_key": recording.key})
                return []
            events, after = recording_events(recording, state, customer, received_at=received_at)
            await repository.keep_in_outbox(session, events)
            if after != state:
                await repository.save_calls(session, {recording.key: after}, {})
    except (SQLAlchemyError, OSError) as exc:
        if not is_transient(exc):
            raise
        raise DatabaseUnavailable("the database is not reachable; retry later") from exc
    relay.wake()
    return [str(event.event_id) for event in events]


async def _keep_call_report(
    report: CallReport,
    *,
    received_at: datetime,
    database: Database,
    producer: EventProducer,
    relay: OutboxRelay,
    region: str,
) -> list[str]:
    """Record a report Twilio waits on through the outbox; published directly without
    Postgres (``answer_twilio_call`` says why)."""
    try:
        (outcome,) = await record_reports(
            [report],
            database=database,
            producer=producer,
            received_at=received_at,
            region=region,
            keep=True,
        )
    except DatabaseUnavailable as exc:
        log.warning("call not recorded: publishing directly", extra={"error": repr(exc.__cause__)})
        events, _ = lifecycle_events(report, CallState(), received_at=received_at, region=region)
        try:
            await publish(producer, events)
        except BrokerUnavailable:
            log.error("call neither recorded nor published", extra={"call_key": report.key})
            return []
        return [str(event.event_id) for event in events]
    relay.wake()
    return outcome.event_ids


async def publish_twilio_sms(form: twilio.Form, *, producer: EventProducer, region: str) -> str:
    """An inbound SMS or MMS as one ``message.received`` event; its id."""
    event = twilio.sms_event(form, received_at=utc_now(), region=region)
    await publish(producer, [event])
    return str(event.event_id)


async def publish_twilio_sms_status(
    form: twilio.Form, *, producer: EventProducer, region: str
) -> list[str]:
    """An SMS status callback as a ``message.status``; the ids published (none for passing ones)."""
    event = twilio.sms_status_event(form, received_at=utc_now(), region=region)
    if event is None:
        return []
    await publish(producer, [event])
    return [str(event.event_id)]


async def record_generic_calls(
    calls: Sequence[GenericCall],
    *,
    delivery: GenericDelivery,
    database: Database,
    producer: EventProducer,
    region: str,
) -> list[RecordResult]:
    """Generic call logs: each call's fate, numbered from 1 in the order given.

    A webhook-id handled before (a retry, a replay) is answered with every call a duplicate
    and nothing published. The id is recorded once the calls are: a connector stopping in
    between leaves it unrecorded, and the retry finds each call's state recorded instead.
    """
    received_at = utc_now()
    if await handled_before(database, webhook_message, delivery):
        return [
            RecordResult(row=row, status="duplicate", call_id=call.call_id)
            for row, call in enumerate(calls, start=1)
        ]
    outcomes = await record_reports(
        [generic_report(call, received_at=received_at) for call in calls],
        database=database,
        producer=producer,
        received_at=received_at,
        region=region,
    )
    await remember_handled(database, webhook_message, delivery, received_at)
    return [result_of(index, outcome) for index, outcome in enumerate(outcomes, start=1)]


async def ingest_cdr_upload(
    chunks: AsyncIterator[bytes],
    *,
    database: Database,
    producer: EventProducer,
    region: str,
    chunk_rows: int,
    max_line_bytes: int,
    listed_rows: int,
) -> BatchReport:
    """Read a ``Master.csv`` upload row by row; publish the good rows chunk by chunk.

    Every row is counted, but only the first ``listed_rows`` results are kept: an
    upload of any length is read in the same memory.
    """
    received_at = utc_now()
    tally = ReportTally(listed=listed_rows)
    # The chunk's rows in order, each a report to record or a rejected row's result,
    # so that the tally sees the rows in order.
    pending: list[tuple[int, CallReport | RecordResult]] = []

    async def flush() -> None:
        reports = [entry for _, entry in pending if isinstance(entry, CallReport)]
        outcomes = iter(
            await record_reports(
                reports,
                database=database,
                producer=producer,
                received_at=received_at,
                region=region,
            )
        )
        for row, entry in pending:
            tally.add(entry if isinstance(entry, RecordResult) else result_of(row, next(outcomes)))
        pending.clear()

    async for row in asterisk.rows_of(chunks, max_line_bytes=max_line_bytes):
        blank = row.problem is None and not any(v.strip() for v in row.values)
        if blank or asterisk.is_header(row):
            continue
        try:
            report = asterisk.report_of(row, region=region, received_at=received_at)
        except asterisk.RowError as error:
            rejected = RecordResult(
                row=row.number, status="rejected", field=error.field, problem=error.problem
            )
            pending.append((row.number, rejected))
        else:
            pending.append((row.number, report))
        if len(pending) >= chunk_rows:
            await flush()
    if pending:
        await flush()
    return tally.report()


def generic_report(call: GenericCall, *, received_at: datetime) -> CallReport:
    return CallReport(
        provider=call.source,
        call_id=call.call_id,
        direction=call.direction,
        caller=call.from_number,
        callee=call.to_number,
        reported_at=call.ended_at or call.answered_at or call.started_at,
        started_at=call.started_at,
        answered_at=call.answered_at,
        ended_at=call.ended_at,
        disposition=call.disposition,
        queue_wait_seconds=call.queue_wait_seconds,
        talk_seconds=call.talk_seconds,
        recording_ref=call.recording_url,
    )


def result_of(row: int, outcome: Outcome) -> RecordResult:
    """An outcome as a row of a batch report: accepted, or duplicate when it added nothing."""
    return RecordResult(
        row=row,
        status="accepted" if outcome.event_ids else "duplicate",
        call_id=outcome.report.call_id,
        event_ids=outcome.event_ids,
    )
