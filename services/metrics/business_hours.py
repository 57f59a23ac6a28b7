"""The business-hours variants of the service level, first response and resolution times.

Their clocks run only while the conversation's queue is open: each duration is the part of
the calendar one that falls in the opening hours the queue's ``conversation.queued`` step
carried (``queue_schedule`` on the fact). A conversation whose queue has no hours counts
its calendar time. Each measure is counted in the same bucket as its calendar twin, with
``_bh`` after its name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from services.metrics.facts import ConversationFact
from shared.events import Schedule

if TYPE_CHECKING:
    from services.metrics.contributions import Deltas, Dims, Thresholds


@lru_cache(maxsize=256)
def _schedule(text: str) -> Schedule:
    return Schedule.model_validate_json(text)


def open_ms(fact: ConversationFact, start: datetime, end: datetime) -> int:
    """Milliseconds of ``[start, end)`` while the fact's queue was open."""
    if end <= start:
        return 0
    if fact.queue_schedule is None:
        return round((end - start).total_seconds() * 1000)
    return _schedule(fact.queue_schedule).open_ms(start, end)


def _waited(fact: ConversationFact, at: datetime, entry: datetime, own_ms: int | None) -> int:
    """The business-hours part of a wait that ended at ``at``: from the call's own wait when
    it reported one, else from the queue entry."""
    start = at - timedelta(milliseconds=own_ms) if own_ms is not None else entry
    return open_ms(fact, start, at)


def add_business_hours(
    deltas: Deltas,
    fact: ConversationFact,
    t: Thresholds,
    sign: int,
    dims: Dims,
    *,
    responded: bool,
    entry: datetime | None,
    answered: bool,
    abandoned: bool,
) -> None:
    """Add (sign 1) or retract (sign -1) the fact's business-hours measures; the flags say
    which calendar measures the fact counts in (``entry``: its queue entry, if counted)."""
    if responded and fact.first_reply_at is not None and fact.first_inbound_at is not None:
        deltas.add_point(
            fact.first_reply_at,
            "frt_bh",
            **dims,
            agent=fact.first_reply_agent or "",
            total_ms=open_ms(fact, fact.first_inbound_at, fact.first_reply_at),
            sign=sign,
        )
    agent = fact.agent_id or ""
    opened = fact.opened_at or fact.first_inbound_at
    first, last = fact.first_resolved_at, fact.last_resolved_at
    if first is not None and last is not None and opened is not None:
        for measure, at in (("resolution_first_bh", first), ("resolution_full_bh", last)):
            ms = open_ms(fact, opened, at)
            deltas.add_point(at, measure, **dims, agent=agent, total_ms=ms, sign=sign)
    if entry is None:
        return
    if answered and fact.answered_at is not None:
        wait = _waited(fact, fact.answered_at, entry, fact.queue_wait_ms)
        threshold = t.service_level_for(fact.channel or "")
        if threshold is not None and wait <= threshold:
            deltas.add_point(fact.answered_at, "answered_in_sl_bh", **dims, agent=agent, sign=sign)
    elif abandoned and fact.abandoned_at is not None:
        wait = _waited(fact, fact.abandoned_at, entry, fact.abandon_wait_ms)
        if wait < t.short_abandon_ms:
            deltas.add_point(fact.abandoned_at, "abandoned_short_bh", **dims, sign=sign)
