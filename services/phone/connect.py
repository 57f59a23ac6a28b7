"""Connecting accepted Twilio calls to their agents.

A Twilio caller waits in ``<Enqueue>`` until an agent accepts the call's offer; routing
then publishes ``conversation.accepted`` with the agent's address, and the connector
redirects the waiting call to a ``<Dial>`` of it. Each accepted step is recorded in
``call_redirect`` before Twilio is called, so a step consumed again redirects nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import httpx
from aiokafka import ConsumerRecord

from services.phone import repository
from services.phone.calls import RedirectState
from services.phone.outbound.voice import TwilioCalls, dial_twiml
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


def is_accepted_call(event: RoutingEvent) -> bool:
    return (
        event.type is LifecycleStep.ACCEPTED
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
        """Connect the calls of a batch's accepted steps, side by side: their callers wait."""
        await asyncio.gather(*(self._connect(e) for e in events if is_accepted_call(e)))

    async def _connect(self, event: RoutingEvent) -> None:
        key = event.conversation_key or ""
        if not event.agent_address:
            log.info("accepted call names no agent address: nobody to connect", extra={"key": key})
            return
        async with self._database.transaction() as session:
            ended = await repository.call_ended(session, key)
            waiting = ended is False
            claimed = await repository.claim_redirect(
                session,
                accepted_event_id=event.event_id,
                call_key=key,
                agent_address=event.agent_address,
                state=RedirectState.REDIRECTING if waiting else RedirectState.NOT_WAITING,
                detail=None if waiting else _not_waiting(ended),
                at=utc_now(),
            )
        if not claimed:
            return  # this accepted step was handled before
        if not waiting:
            log.info("accepted call is no longer waiting", extra={"key": key})
            return
        outcome = await self._redirect(key.removeprefix(CALL_KEY_PREFIX), event.agent_address)
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
        if not isinstance(outcome, Sent):
            log.warning(
                "call not connected to its agent", extra={"key": key, "error": outcome.reason}
            )

    async def _redirect(self, call_sid: str, agent_address: str) -> Sent | Failed:
        """Redirect the call, retrying passing failures until ``redirect_give_up_s``."""
        assert self._client is not None
        twiml = dial_twiml(agent_address)
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
