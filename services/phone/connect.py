"""Connecting accepted Twilio calls to their agents, and closed-hours calls to voicemail.

A Twilio caller waits in ``<Enqueue>`` until an agent accepts the call's offer; routing
then publishes ``conversation.accepted`` with the agent's address, and the connector
redirects the waiting call to a ``<Dial>`` of it. A call that opened while its queue was
closed is announced as ``conversation.out_of_hours`` instead: the connector redirects it to
the closed message and a ``<Record>``, whose recording ends the call as a voicemail. Each
step is recorded in ``call_redirect`` before Twilio is called, so a step consumed again
redirects nothing; a call's steps are acted on in their order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import httpx
from aiokafka import ConsumerRecord

from services.phone import repository
from services.phone.calls import RedirectKind, RedirectState
from services.phone.outbound.voice import (
    RECORDING_PATH,
    VOICEMAIL_PATH,
    TwilioCalls,
    dial_twiml,
    voicemail_twiml,
)
from services.phone.settings import PhoneSettings
from shared.clock import utc_now
from shared.events import ROUTING_TOPIC, Channel, LifecycleStep, RoutingEvent
from shared.kafka import ConsumerLoop
from shared.outbound import Failed, Outcome, Retry, Sent
from shared.service import Runtime

__all__ = ["CallConnector", "may_be_accepted_call"]

log = logging.getLogger(__name__)

#: Conversation keys of Twilio calls (``twilio_voice:{CallSid}``, see calls.CallReport.key).
CALL_KEY_PREFIX = "twilio_voice:"

#: Longest wait between two attempts of one redirect.
MAX_BACKOFF_S = 5.0


def may_be_accepted_call(record: ConsumerRecord) -> bool:
    """Whether a routing record may concern a Twilio call: its key is the call's."""
    return record.key is not None and record.key.startswith(CALL_KEY_PREFIX.encode())


#: The steps that redirect a Twilio call.
REDIRECTING_STEPS = frozenset({LifecycleStep.ACCEPTED, LifecycleStep.OUT_OF_HOURS})


def redirects_call(event: RoutingEvent) -> bool:
    return (
        event.type in REDIRECTING_STEPS
        and event.channel is Channel.PHONE
        and event.conversation_key is not None
        and event.conversation_key.startswith(CALL_KEY_PREFIX)
    )


class CallConnector:
    """Consumes routing's steps and connects each accepted Twilio call to its agent.

    It has the shape ``Runtime.add_worker`` expects, and owns the HTTP client it calls
    Twilio with.
    """

    def __init__(self, runtime: Runtime, settings: PhoneSettings) -> None:
        self._database = runtime.database
        self._calls = TwilioCalls(settings)
        self._give_up_s = settings.redirect_give_up_s
        self._timeout_s = settings.outbound_timeout_s
        self._closed_message = settings.closed_message
        self._voicemail_max_s = settings.voicemail_max_seconds
        base = settings.public_base_url
        self._voicemail_url = base.rstrip("/") + VOICEMAIL_PATH if base else None
        self._recording_url = base.rstrip("/") + RECORDING_PATH if base else None
        self._client: httpx.AsyncClient | None = None
        self._consumer = ConsumerLoop(
            settings=runtime.platform,
            group_id=settings.accepted_group,
            decoders={ROUTING_TOPIC: RoutingEvent.from_json},
            handle=self.connect,
            producer=runtime.producer,
            wants=may_be_accepted_call,
        )

    @property
    def name(self) -> str:
        return self._consumer.name

    @property
    def running(self) -> bool:
        return self._consumer.running

    def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout_s)
        self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()
        if self._client is not None:
            await self._client.aclose()

    async def connect(self, events: Sequence[RoutingEvent]) -> None:
        """Redirect the calls of a batch's steps, calls side by side (their callers wait),
        each call's steps in order."""
        by_call: dict[str, list[RoutingEvent]] = {}
        for event in events:
            if redirects_call(event):
                by_call.setdefault(event.conversation_key or "", []).append(event)
        await asyncio.gather(*(self._redirect_call(steps) for steps in by_call.values()))

    async def _redirect_call(self, steps: Sequence[RoutingEvent]) -> None:
        for event in steps:
            await self._connect(event)

    async def _connect(self, event: RoutingEvent) -> None:
        key = event.conversation_key or ""
        voicemail = event.type is LifecycleStep.OUT_OF_HOURS
        if not voicemail and not event.agent_address:
            log.info("accepted call names no agent address: nobody to connect", extra={"key": key})
            return
        async with self._database.transaction() as session:
            ended = await repository.call_ended(session, key)
            waiting = ended is False
            claimed = await repository.claim_redirect(
                session,
                accepted_event_id=event.event_id,
                call_key=key,
                kind=RedirectKind.VOICEMAIL if voicemail else RedirectKind.AGENT,
                agent_address=event.agent_address,
                state=RedirectState.REDIRECTING if waiting else RedirectState.NOT_WAITING,
                detail=None if waiting else _not_waiting(ended),
                at=utc_now(),
            )
            if claimed and waiting:
                # Set before Twilio is called: the recording may come back before the answer.
                await repository.set_voicemail(session, key, voicemail=voicemail)
        if not claimed:
            return  # this step was handled before
        if not waiting:
            log.info("call is no longer waiting", extra={"key": key, "step": event.type})
            return
        twiml = (
            voicemail_twiml(
                event.closed_message or self._closed_message,
                action_url=self._voicemail_url,
                max_seconds=self._voicemail_max_s,
                recording_url=self._recording_url,
            )
            if voicemail
            else dial_twiml(event.agent_address or "")
        )
        outcome = await self._redirect(key.removeprefix(CALL_KEY_PREFIX), twiml)
        async with self._database.transaction() as session:
            await repository.settle_redirect(
                session,
                event.event_id,
                state=RedirectState.REDIRECTED
                if isinstance(outcome, Sent)
                else RedirectState.FAILED,
                detail=None if isinstance(outcome, Sent) else outcome.reason,
                at=utc_now(),
            )
            if voicemail and not isinstance(outcome, Sent):
                await repository.set_voicemail(session, key, voicemail=False)
        if not isinstance(outcome, Sent):
            log.warning(
                "call not redirected",
                extra={"key": key, "step": event.type, "error": outcome.reason},
            )

    async def _redirect(self, call_sid: str, twiml: str) -> Sent | Failed:
        """Redirect the call, retrying passing failures until ``redirect_give_up_s``."""
        assert self._client is not None
        give_up_at = time.monotonic() + self._give_up_s
        attempts = 0
        while True:
            attempts += 1
            outcome: Outcome
            try:
                outcome = await self._calls.redirect(call_sid, twiml, self._client)
            except httpx.TransportError as exc:
                outcome = Retry(f"{type(exc).__name__}: {exc}".strip(": "))
            if not isinstance(outcome, Retry):
                return outcome
            wait = max(outcome.after_s, min(MAX_BACKOFF_S, 2.0 ** (attempts - 1)))
            if time.monotonic() + wait > give_up_at:
                return Failed(f"gave up after {attempts} attempts: {outcome.reason}")
            await asyncio.sleep(wait)


def _not_waiting(ended: bool | None) -> str:
    if ended is None:
        return "no such call was reported by Twilio"
    return "the call ended before it was accepted"
