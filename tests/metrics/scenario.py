"""A scripted day of customer service across the four channels.

The script says what happened to each conversation (when the customer wrote,
who answered, when it was resolved...); ``conversation_events`` turns it into
what the connectors and routing publish. ``by_hand`` computes its KPIs.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.events import (
    CallDisposition,
    CallInfo,
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    MessageStatus,
    RoutingEvent,
    SurveyAnswer,
)
from tests.metrics.scenario_work import (
    Activity,
    activity_events,
    schedule_of,
    script_activity,
    script_wrap_ups,
    wrap_up_events,
)

THRESHOLD_MS = {"phone": 20_000, "chat": 60_000, "social": 3_600_000, "email": 14_400_000}
SHORT_ABANDON_MS = 5_000
PROVIDERS = {
    "phone": ("twilio_voice", "asterisk"),
    "chat": ("webchat", "slack"),
    "social": ("messenger", "whatsapp"),
    "email": ("mailgun", "postmark"),
}
#: Longest wait before an answer or abandon, per channel (seconds).
MAX_WAIT_S = {"phone": 60, "chat": 180, "social": 7200, "email": 6 * 3600}


@dataclass(frozen=True)
class Outcome:
    """A ``message.status`` about one of the conversation's outbound messages."""

    at: datetime
    status: MessageStatus
    #: The reply's agent on the connector's own sent/failed; provider receipts carry none.
    agent: str | None = None
    automated: bool = False
    inbound: bool = False
    #: The connector's own outcome of the reply (it names the reply in ``status_of``).
    own: bool = False

    @property
    def counted(self) -> bool:
        """Only statuses of agents' replies count: never a bot's, never an inbound one."""
        return self.measure is not None

    @property
    def measure(self) -> str | None:
        """Where the outcome counts, as the design's delivery formula says, by hand."""
        if self.automated or self.inbound:
            return None
        if self.own:
            return {MessageStatus.SENT: "reply_sent", MessageStatus.FAILED: "reply_failed"}.get(
                self.status
            )
        return {
            MessageStatus.DELIVERED: "reply_delivered",
            MessageStatus.READ: "reply_read",
            MessageStatus.FAILED: "reply_undelivered",
        }.get(self.status)


@dataclass
class Script:
    key: str
    channel: str
    provider: str
    queue: str
    opened_at: datetime
    inbound: list[datetime] = field(default_factory=list)
    automated_inbound: list[datetime] = field(default_factory=list)
    bot_replies: list[datetime] = field(default_factory=list)
    replies: list[tuple[datetime, str]] = field(default_factory=list)
    answered_at: datetime | None = None
    answered_by: str | None = None
    wait_ms: int | None = None
    transfers: list[tuple[datetime, str]] = field(default_factory=list)
    abandoned_at: datetime | None = None
    abandon_wait_ms: int | None = None
    resolves: list[datetime] = field(default_factory=list)
    reopens: list[datetime] = field(default_factory=list)
    ended_at: datetime | None = None
    talk_ms: int = 0
    hold_ms: int = 0
    after_call_ms: int = 0
    csat: tuple[int, datetime] | None = None
    nps: tuple[int, datetime] | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    #: Routing's wrap-ups: (when it ended, its length in ms).
    wrap_ups: list[tuple[datetime, int]] = field(default_factory=list)

    @property
    def agent(self) -> str:
        """Who holds the conversation last: the transfer target, else who answered."""
        if self.transfers:
            return max(self.transfers)[1]
        return self.answered_by or ""


@dataclass
class Day:
    tag: str
    start: datetime
    queues: list[str]
    agents: list[str]
    scripts: list[Script]
    statuses: dict[str, list[tuple[datetime, str]]]
    activity: Activity = field(default_factory=dict)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=1)


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def script_day(seed: int, conversations_per_channel: int = 60) -> Day:
    """A day in the past only this scenario uses, with every case the KPIs care about."""
    rng = random.Random(seed)
    tag = uuid.UUID(int=rng.getrandbits(128)).hex[:10]
    start = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 8000))
    agents = [f"agent-{tag}-{i}" for i in range(6)]
    scripts: list[Script] = []
    queues: list[str] = []
    for channel in ("phone", "chat", "social", "email"):
        channel_queues = [f"{channel}-{tag}-{name}" for name in ("general", "billing")]
        queues += channel_queues
        for i in range(conversations_per_channel):
            opened = start + _s(rng.randrange(0, 14 * 3600))
            script = Script(
                key=f"{channel}:{tag}:{i}",
                channel=channel,
                provider=rng.choice(PROVIDERS[channel]),
                queue=rng.choice(channel_queues),
                opened_at=opened,
                inbound=[opened],
            )
            if channel == "phone":
                _script_call(rng, script, agents)
            else:
                _script_messages(rng, script, agents)
            scripts.append(script)
    # Outcomes draw from their own generator so the rest of the day stays as it was.
    outcome_rng = random.Random(seed + 1)
    for script in scripts:
        _script_outcomes(outcome_rng, script)
    statuses = {agent: _script_statuses(rng, start) for agent in agents}
    script_wrap_ups(random.Random(seed + 2), scripts)
    activity = script_activity(random.Random(seed + 3), start, agents, queues)
    return Day(tag, start, queues, agents, scripts, statuses, activity)


def _script_call(rng: random.Random, s: Script, agents: list[str]) -> None:
    roll = rng.random()
    wait_s = rng.randrange(1, MAX_WAIT_S["phone"])
    if roll < 0.22:
        s.abandoned_at = s.opened_at + _s(wait_s if rng.random() < 0.5 else rng.randrange(0, 5))
        s.abandon_wait_ms = round((s.abandoned_at - s.opened_at).total_seconds() * 1000)
        return
    if roll < 0.27:
        return  # still ringing in the queue
    s.answered_at = s.opened_at + _s(wait_s)
    s.answered_by = rng.choice(agents)
    s.wait_ms = wait_s * 1000
    s.talk_ms = rng.randrange(30, 900) * 1000
    s.hold_ms = rng.choice((0, 0, rng.randrange(10, 120))) * 1000
    s.after_call_ms = rng.choice((0, rng.randrange(5, 60))) * 1000
    s.ended_at = s.answered_at + timedelta(milliseconds=s.talk_ms + s.hold_ms)
    if rng.random() < 0.2:
        s.transfers.append((s.answered_at + _s(20), rng.choice(agents)))
    s.resolves.append(s.ended_at + timedelta(milliseconds=s.after_call_ms))
    _script_surveys(rng, s)


def _script_messages(rng: random.Random, s: Script, agents: list[str]) -> None:
    if rng.random() < 0.15 and s.channel == "email":
        s.automated_inbound.append(s.opened_at + _s(2))
    if rng.random() < 0.4:
        s.bot_replies.append(s.opened_at + _s(rng.randrange(1, 5)))
    if rng.random() < 0.3:
        s.inbound.append(s.opened_at + _s(rng.randrange(6, 30)))
    roll = rng.random()
    wait_s = rng.randrange(1, MAX_WAIT_S[s.channel])
    if roll < 0.15:
        # Left before an agent took it: some within 5 s, most later.
        abandon_s = rng.randrange(0, 5) if rng.random() < 0.4 else wait_s
        s.abandoned_at = s.opened_at + _s(abandon_s)
        s.abandon_wait_ms = abandon_s * 1000
        return
    if roll < 0.22:
        return  # still waiting
    s.answered_at = s.opened_at + _s(wait_s)
    s.answered_by = rng.choice(agents)
    s.wait_ms = wait_s * 1000
    first_reply = s.answered_at + _s(rng.randrange(5, 600))
    s.replies.append((first_reply, s.answered_by))
    if rng.random() < 0.18:
        s.transfers.append((first_reply + _s(30), rng.choice(agents)))
    s.replies.append((first_reply + _s(rng.randrange(60, 900)), s.agent))
    if rng.random() < 0.1:
        return  # answered, not resolved yet
    resolved = max(s.replies)[0] + _s(rng.randrange(60, 1800))
    s.resolves.append(resolved)
    if rng.random() < 0.25:
        reopened = resolved + _s(rng.randrange(600, 3600))
        s.reopens.append(reopened)
        s.inbound.append(reopened)
        if rng.random() < 0.8:
            s.resolves.append(reopened + _s(rng.randrange(60, 3600)))
    _script_surveys(rng, s)


def _script_surveys(rng: random.Random, s: Script) -> None:
    if not s.resolves:
        return
    after = max(s.resolves) + _s(rng.randrange(60, 900))
    if rng.random() < 0.6:
        s.csat = (rng.randint(1, 5), after)
    if rng.random() < 0.4:
        s.nps = (rng.randint(0, 10), after + _s(5))


def _script_outcomes(rng: random.Random, s: Script) -> None:
    """What the connector and the provider report about each outbound message."""
    for at, agent in s.replies:
        sent_at = at + _s(rng.randrange(1, 5))
        if rng.random() < 0.15:
            s.outcomes.append(Outcome(sent_at, MessageStatus.FAILED, agent, own=True))
            continue
        s.outcomes.append(Outcome(sent_at, MessageStatus.SENT, agent, own=True))
        if rng.random() < 0.3:
            # The provider reports the send too (as WhatsApp does): not counted a second time.
            s.outcomes.append(Outcome(sent_at + _s(1), MessageStatus.SENT))
        if rng.random() < 0.1:
            # The provider took the reply and could not deliver it.
            s.outcomes.append(Outcome(sent_at + _s(2), MessageStatus.FAILED))
            continue
        if rng.random() < 0.7:
            delivered_at = sent_at + _s(rng.randrange(1, 60))
            s.outcomes.append(Outcome(delivered_at, MessageStatus.DELIVERED))
            if rng.random() < 0.6:
                read_at = delivered_at + _s(rng.randrange(1, 3600))
                s.outcomes.append(Outcome(read_at, MessageStatus.READ))
    for at in s.bot_replies:
        s.outcomes.append(Outcome(at + _s(1), MessageStatus.SENT, automated=True))
    if s.replies and rng.random() < 0.1:
        # An inbound status is about no message we sent: never an outcome of a reply.
        s.outcomes.append(Outcome(s.replies[0][0] + _s(2), MessageStatus.DELIVERED, inbound=True))


def _script_statuses(rng: random.Random, day: datetime) -> list[tuple[datetime, str]]:
    changes = [(day, "offline"), (day + _s(7 * 3600 + rng.randrange(0, 3600)), "available")]
    at = changes[-1][0]
    for _ in range(rng.randrange(6, 14)):
        at += _s(rng.randrange(300, 2400))
        status = rng.choice(("busy", "busy", "available", "away"))
        if status != changes[-1][1]:
            changes.append((at, status))
    changes.append((at + _s(1800), "offline"))
    return changes


# -- events ---------------------------------------------------------------


def _interaction(s: Script, kind: EventType, at: datetime, **fields: Any) -> InteractionEvent:
    direction = fields.pop("direction", Direction.INBOUND)
    return InteractionEvent(
        event_id=uuid.uuid4(),
        type=kind,
        channel=Channel(s.channel),
        provider=s.provider,
        direction=direction,
        occurred_at=at,
        received_at=at,
        customer=Customer(id=f"customer-{s.key}"),
        conversation_key=s.key,
        **fields,
    )


def _step(s: Script, step: LifecycleStep, at: datetime, agent: str | None = None) -> RoutingEvent:
    return RoutingEvent(
        event_id=uuid.uuid4(),
        type=step,
        occurred_at=at,
        conversation_id=uuid.uuid5(uuid.NAMESPACE_URL, s.key),
        conversation_key=s.key,
        channel=Channel(s.channel),
        queue=s.queue,
        agent_id=agent,
    )


def conversation_events(s: Script, rng: random.Random) -> list[InteractionEvent | RoutingEvent]:
    """What connectors and routing publish about one scripted conversation."""
    out: list[InteractionEvent | RoutingEvent] = [
        _step(s, LifecycleStep.OPENED, s.opened_at),
        _step(s, LifecycleStep.QUEUED, s.opened_at).model_copy(
            update={"queue_schedule": schedule_of(s)}
        ),
    ]
    phone = s.channel == "phone"
    first_kind = EventType.CALL_STARTED if phone else EventType.MESSAGE_RECEIVED
    out += [_interaction(s, first_kind, s.inbound[0])]
    out += [_interaction(s, EventType.MESSAGE_RECEIVED, at) for at in s.inbound[1:]]
    out += [
        _interaction(s, EventType.MESSAGE_RECEIVED, at, automated=True)
        for at in s.automated_inbound
    ]
    out += [
        _interaction(s, EventType.MESSAGE_SENT, at, direction=Direction.OUTBOUND, automated=True)
        for at in s.bot_replies
    ]
    for i, (at, agent) in enumerate(s.replies):
        out.append(
            _interaction(
                s, EventType.MESSAGE_SENT, at, direction=Direction.OUTBOUND, agent_id=agent
            )
        )
        if i == 0 and rng.random() < 0.5:
            out.append(_step(s, LifecycleStep.FIRST_REPLY, at, agent))
    if s.answered_at is not None:
        out.append(_step(s, LifecycleStep.ACCEPTED, s.answered_at, s.answered_by))
        if phone:
            call = CallInfo(queue_wait_seconds=(s.wait_ms or 0) / 1000)
            out.append(
                _interaction(
                    s, EventType.CALL_ANSWERED, s.answered_at, call=call, agent_id=s.answered_by
                )
            )
    for at, agent in s.transfers:
        out.append(_step(s, LifecycleStep.TRANSFERRED, at, agent))
    if s.ended_at is not None:
        call = CallInfo(
            queue_wait_seconds=(s.wait_ms or 0) / 1000,
            talk_seconds=s.talk_ms / 1000,
            disposition=CallDisposition.ANSWERED,
        )
        meta = {
            "hold_seconds": str(s.hold_ms / 1000),
            "after_call_seconds": str(s.after_call_ms / 1000),
        }
        out.append(_interaction(s, EventType.CALL_ENDED, s.ended_at, call=call, provider_meta=meta))
    if s.abandoned_at is not None:
        if phone:
            call = CallInfo(
                queue_wait_seconds=(s.abandon_wait_ms or 0) / 1000,
                disposition=CallDisposition.ABANDONED,
            )
            out.append(_interaction(s, EventType.CALL_ENDED, s.abandoned_at, call=call))
        elif s.channel == "chat" and rng.random() < 0.5:
            out.append(_interaction(s, EventType.CUSTOMER_LEFT, s.abandoned_at))
        else:
            out.append(_step(s, LifecycleStep.ABANDONED, s.abandoned_at))
    out += [_step(s, LifecycleStep.RESOLVED, at, s.agent) for at in s.resolves]
    out += [_step(s, LifecycleStep.REOPENED, at, s.agent) for at in s.reopens]
    out += wrap_up_events(s)
    for outcome in s.outcomes:
        out.append(
            _interaction(
                s,
                EventType.MESSAGE_STATUS,
                outcome.at,
                direction=Direction.INBOUND if outcome.inbound else Direction.OUTBOUND,
                content=Content(status=outcome.status),
                # The connector's own outcome names the reply (its message.sent) it settles.
                status_of=uuid.uuid5(uuid.NAMESPACE_URL, f"{s.key}/{outcome.at}")
                if outcome.own
                else None,
                agent_id=outcome.agent,
                automated=outcome.automated,
            )
        )
    for kind, answer in (("csat", s.csat), ("nps", s.nps)):
        if answer is not None:
            out.append(
                _interaction(
                    s,
                    EventType.SURVEY_RESPONSE,
                    answer[1],
                    survey=SurveyAnswer(kind=kind, score=answer[0]),
                )
            )
    return out


def status_events(day: Day) -> list[RoutingEvent]:
    return [
        RoutingEvent(
            event_id=uuid.uuid4(),
            type=LifecycleStep.AGENT_STATUS_CHANGED,
            occurred_at=at,
            agent_id=agent,
            agent_status=status,
        )
        for agent, changes in day.statuses.items()
        for at, status in changes
    ]


def publish_order(day: Day, seed: int) -> tuple[list[Any], list[Any]]:
    """Every event once in a shuffled, partly reversed order, plus the duplicates to send too."""
    rng = random.Random(seed)
    events: list[Any] = []
    for script in day.scripts:
        mine = conversation_events(script, rng)
        if rng.random() < 0.35:
            mine.reverse()  # out of order: a resolve before the open, a reply before the message
        events += mine
    events += status_events(day)
    events += activity_events(day)
    rng.shuffle(events)
    duplicates = rng.sample(events, len(events) // 10)
    # Some reply outcomes certainly arrive twice, whatever the sample above took.
    outcomes = [
        e for e in events if isinstance(e, InteractionEvent) and e.type is EventType.MESSAGE_STATUS
    ]
    duplicates += rng.sample(outcomes, 3)
    return events, duplicates
