"""What each fact adds to the KPI buckets.

A fact contributes ``(n, total_ms)`` to a measure in the bucket of the time
the measured thing happened (a reply, a resolve, an answer...). Updating a
fact retracts its old contribution and adds its new one, so the incremental
path and a rebuild from the facts add up to the same sums.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

from services.metrics.business_hours import add_business_hours
from services.metrics.facts import ConversationFact
from services.metrics.models import (
    FRT_BIN_MS,
    frt_count,
    frt_count_all,
    frt_second_count,
    frt_second_count_all,
    kpi_bucket,
    kpi_rollup,
)

GRANULARITIES = ("minute", "hour", "day")
#: Granularities with first-response distributions (a minute report reads its few facts).
FRT_GRANULARITIES = ("hour", "day")
STEP = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}

#: (granularity, bucket_start, measure, channel, queue, agent_id, provider)
BucketKey = tuple[str, datetime, str, str, str, str, str]
#: (granularity, bucket_start, channel, queue, frt_ms)
FrtKey = tuple[str, datetime, str, str, int]


class Dims(TypedDict):
    """The dimensions every conversation measure carries."""

    channel: str
    queue: str


@dataclass(frozen=True)
class Thresholds:
    """Service-level T per channel and the short-abandon limit, in milliseconds."""

    service_level_ms: dict[str, int]
    short_abandon_ms: int

    def service_level_for(self, channel: str) -> int | None:
        return self.service_level_ms.get(channel)


def bucket_start(at: datetime, granularity: str) -> datetime:
    """The UTC start of the bucket ``at`` falls in."""
    at = at.replace(second=0, microsecond=0)
    if granularity in ("hour", "day"):
        at = at.replace(minute=0)
    if granularity == "day":
        at = at.replace(hour=0)
    return at


def _ms(later: datetime, earlier: datetime) -> int:
    return round((later - earlier).total_seconds() * 1000)


class Deltas:
    """Sums of ``(n, total_ms)`` per bucket key, ready for one bulk upsert."""

    def __init__(self) -> None:
        self.sums: dict[BucketKey, list[int]] = defaultdict(lambda: [0, 0])
        self.frt: dict[FrtKey, int] = defaultdict(int)

    def add_point(
        self,
        at: datetime,
        measure: str,
        *,
        channel: str = "",
        queue: str = "",
        agent: str = "",
        provider: str = "",
        n: int = 1,
        total_ms: int = 0,
        sign: int = 1,
    ) -> None:
        for granularity in GRANULARITIES:
            key = (
                granularity,
                bucket_start(at, granularity),
                measure,
                channel,
                queue,
                agent,
                provider,
            )
            entry = self.sums[key]
            entry[0] += sign * n
            entry[1] += sign * total_ms

    def add_interval(
        self,
        start: datetime,
        end: datetime,
        measure: str,
        *,
        agent: str,
        channel: str = "",
        queue: str = "",
        sign: int = 1,
    ) -> None:
        """Spread the milliseconds of ``[start, end)`` over the buckets it crosses."""
        for granularity in GRANULARITIES:
            cursor = start
            while cursor < end:
                bucket = bucket_start(cursor, granularity)
                piece_end = min(end, bucket + STEP[granularity])
                entry = self.sums[(granularity, bucket, measure, channel, queue, agent, "")]
                # n counts the intervals that start in the bucket.
                entry[0] += sign * (1 if cursor == start else 0)
                entry[1] += sign * _ms(piece_end, cursor)
                cursor = piece_end

    def add_frt(self, at: datetime, frt_ms: int, *, channel: str, queue: str, sign: int) -> None:
        """Count one first response of ``frt_ms`` in the distributions of its buckets."""
        for granularity in FRT_GRANULARITIES:
            self.frt[(granularity, bucket_start(at, granularity), channel, queue, frt_ms)] += sign

    def rows(self) -> Iterator[dict[str, object]]:
        """Non-zero sums as rows of ``kpi_bucket``, in key order (no lock-order surprises)."""
        return _rows(self.sums, _BUCKET_COLUMNS)

    def rollup_rows(self) -> Iterator[dict[str, object]]:
        """The sums over agents, as rows of ``kpi_rollup`` in key order."""
        without_agent = _summed(self.sums, lambda key: key[:5] + key[6:])
        return _rows(without_agent, _ROLLUP_COLUMNS)

    def frt_rows(self) -> Iterator[dict[str, object]]:
        """Non-zero first-response counts as rows of ``frt_count``, in key order."""
        return _rows({key: [n] for key, n in self.frt.items()}, _FRT_COLUMNS)

    def frt_all_rows(self) -> Iterator[dict[str, object]]:
        """The first-response counts over channels and queues, as rows of ``frt_count_all``."""
        over_all = _summed({key: [n] for key, n in self.frt.items()}, lambda key: key[:2] + key[4:])
        return _rows(over_all, _FRT_ALL_COLUMNS)

    def frt_second_rows(self) -> Iterator[dict[str, object]]:
        """The first-response counts per whole second, as rows of ``frt_second_count``."""
        per_second = _summed(
            {key: [n] for key, n in self.frt.items()},
            lambda key: (*key[:4], key[4] // FRT_BIN_MS),
        )
        return _rows(per_second, _FRT_SECOND_COLUMNS)

    def frt_second_all_rows(self) -> Iterator[dict[str, object]]:
        """The counts per whole second over channels and queues (``frt_second_count_all``)."""
        per_second = _summed(
            {key: [n] for key, n in self.frt.items()},
            lambda key: (*key[:2], key[4] // FRT_BIN_MS),
        )
        return _rows(per_second, _FRT_SECOND_ALL_COLUMNS)


# Each table's columns in declaration order: the key fields of a row, then its sums.
_BUCKET_COLUMNS = tuple(kpi_bucket.c.keys())
_ROLLUP_COLUMNS = tuple(kpi_rollup.c.keys())
_FRT_COLUMNS = tuple(frt_count.c.keys())
_FRT_ALL_COLUMNS = tuple(frt_count_all.c.keys())
_FRT_SECOND_COLUMNS = tuple(frt_second_count.c.keys())
_FRT_SECOND_ALL_COLUMNS = tuple(frt_second_count_all.c.keys())


def _summed(
    sums: Mapping[tuple[Any, ...], list[int]], key_of: Callable[[tuple[Any, ...]], tuple[Any, ...]]
) -> dict[tuple[Any, ...], list[int]]:
    """``sums`` added up over the keys that ``key_of`` maps together."""
    summed: dict[tuple[Any, ...], list[int]] = {}
    for key, values in sums.items():
        entry = summed.setdefault(key_of(key), [0] * len(values))
        for i, value in enumerate(values):
            entry[i] += value
    return summed


def _rows(
    sums: Mapping[tuple[Any, ...], list[int]], columns: tuple[str, ...]
) -> Iterator[dict[str, object]]:
    """One row per key whose sums are not all zero, in key order: key fields, then sums."""
    for key in sorted(sums):
        values = sums[key]
        if any(values):
            yield dict(zip(columns, (*key, *values), strict=True))


def queue_entry(fact: ConversationFact) -> datetime | None:
    """When the contact started waiting: queued, else opened, else its first inbound."""
    return fact.queued_at or fact.opened_at or fact.first_inbound_at


def answer_wait_ms(fact: ConversationFact) -> int | None:
    """Wait before an agent answered (call) or accepted (message)."""
    if fact.answered_at is None:
        return None
    if fact.queue_wait_ms is not None:
        return fact.queue_wait_ms
    entry = queue_entry(fact)
    return None if entry is None else max(0, _ms(fact.answered_at, entry))


def abandon_wait_ms(fact: ConversationFact) -> int | None:
    """Wait before the customer left unanswered; None when the contact was answered."""
    if fact.abandoned_at is None or fact.answered_at is not None:
        return None
    if fact.abandon_wait_ms is not None:
        return fact.abandon_wait_ms
    entry = queue_entry(fact)
    return None if entry is None else max(0, _ms(fact.abandoned_at, entry))


def after_contact_ms(fact: ConversationFact) -> int:
    """After-contact work: routing's wrap-up when there was one, else what the provider said."""
    if fact.wrap_up_ms is not None:
        return fact.wrap_up_ms
    return fact.after_contact_ms or 0


def handle_ms(fact: ConversationFact) -> tuple[datetime, int] | None:
    """When the handled contact ended and its handle time (talk + hold + after-contact work)."""
    if fact.answered_at is None:
        return None
    if fact.channel == "phone":
        if fact.ended_at is None:
            return None
        talk = fact.talk_ms if fact.talk_ms is not None else _ms(fact.ended_at, fact.answered_at)
        return fact.ended_at, talk + (fact.hold_ms or 0) + after_contact_ms(fact)
    # Accept to first resolve, plus the wrap-up after it: the days a resolved conversation
    # may sit before a reopen are not handling, and a reopened spell's own accept is not kept.
    if fact.first_resolved_at is None or fact.first_resolved_at < fact.answered_at:
        return None
    handling = _ms(fact.first_resolved_at, fact.answered_at)
    return fact.first_resolved_at, handling + (fact.wrap_up_ms or 0)


def first_response_ms(fact: ConversationFact) -> int | None:
    if fact.first_inbound_at is None or fact.first_reply_at is None:
        return None
    if fact.first_reply_at < fact.first_inbound_at:
        return None
    return _ms(fact.first_reply_at, fact.first_inbound_at)


def add_conversation(deltas: Deltas, fact: ConversationFact, t: Thresholds, sign: int) -> None:
    """Add (sign 1) or retract (sign -1) everything ``fact`` contributes."""
    dims = Dims(channel=fact.channel or "", queue=fact.queue or "")
    agent = fact.agent_id or ""
    opened = fact.opened_at or fact.first_inbound_at
    if opened is not None:
        deltas.add_point(opened, "conversations", **dims, sign=sign)
    frt = first_response_ms(fact)
    if frt is not None and fact.first_reply_at is not None:
        deltas.add_point(
            fact.first_reply_at,
            "frt",
            **dims,
            agent=fact.first_reply_agent or "",
            total_ms=frt,
            sign=sign,
        )
        deltas.add_frt(fact.first_reply_at, frt, **dims, sign=sign)
    _add_queue_outcome(deltas, fact, t, sign, dims)
    handled = handle_ms(fact)
    if handled is not None:
        deltas.add_point(handled[0], "handle", **dims, agent=agent, total_ms=handled[1], sign=sign)
    if fact.answered_at is not None:
        deltas.add_point(fact.answered_at, "handled", **dims, agent=agent, sign=sign)
        if fact.transfer_count > 0:
            deltas.add_point(fact.answered_at, "transferred", **dims, agent=agent, sign=sign)
    _add_resolution(deltas, fact, sign, dims, agent, opened)
    _add_surveys(deltas, fact, sign, dims, agent)
    entry = queue_entry(fact)
    answered, abandoned = answer_wait_ms(fact), abandon_wait_ms(fact)
    counted = fact.queued_at is not None or answered is not None or abandoned is not None
    add_business_hours(
        deltas,
        fact,
        t,
        sign,
        dims,
        responded=frt is not None,
        entry=entry if counted else None,
        answered=answered is not None,
        abandoned=abandoned is not None,
    )


def _add_queue_outcome(
    deltas: Deltas, fact: ConversationFact, t: Thresholds, sign: int, dims: Dims
) -> None:
    entry = queue_entry(fact)
    if entry is None:
        return
    answered_wait = answer_wait_ms(fact)
    abandoned_wait = abandon_wait_ms(fact)
    if fact.queued_at is None and answered_wait is None and abandoned_wait is None:
        return
    deltas.add_point(entry, "queued", **dims, sign=sign)
    if answered_wait is not None and fact.answered_at is not None:
        agent = fact.agent_id or ""
        at = fact.answered_at
        deltas.add_point(at, "answered", **dims, agent=agent, total_ms=answered_wait, sign=sign)
        threshold = t.service_level_for(fact.channel or "")
        if threshold is not None and answered_wait <= threshold:
            deltas.add_point(at, "answered_in_sl", **dims, agent=agent, sign=sign)
    elif abandoned_wait is not None and fact.abandoned_at is not None:
        at = fact.abandoned_at
        deltas.add_point(at, "abandoned", **dims, total_ms=abandoned_wait, sign=sign)
        if abandoned_wait < t.short_abandon_ms:
            deltas.add_point(at, "abandoned_short", **dims, total_ms=abandoned_wait, sign=sign)


def _add_resolution(
    deltas: Deltas,
    fact: ConversationFact,
    sign: int,
    dims: Dims,
    agent: str,
    opened: datetime | None,
) -> None:
    first, last = fact.first_resolved_at, fact.last_resolved_at
    if first is None or last is None or opened is None:
        return
    deltas.add_point(first, "resolved", **dims, agent=agent, sign=sign)
    if fact.reopen_count > 0:
        deltas.add_point(first, "reopened", **dims, agent=agent, sign=sign)
    deltas.add_point(
        first, "resolution_first", **dims, agent=agent, total_ms=_ms(first, opened), sign=sign
    )
    deltas.add_point(
        last, "resolution_full", **dims, agent=agent, total_ms=_ms(last, opened), sign=sign
    )


def _add_surveys(deltas: Deltas, fact: ConversationFact, sign: int, dims: Dims, agent: str) -> None:
    if fact.csat_score is not None and fact.csat_at is not None:
        deltas.add_point(fact.csat_at, "csat_answers", **dims, agent=agent, sign=sign)
        if fact.csat_score >= 4:
            deltas.add_point(fact.csat_at, "csat_satisfied", **dims, agent=agent, sign=sign)
    if fact.nps_score is not None and fact.nps_at is not None:
        deltas.add_point(fact.nps_at, "nps_answers", **dims, agent=agent, sign=sign)
        if fact.nps_score >= 9:
            deltas.add_point(fact.nps_at, "nps_promoters", **dims, agent=agent, sign=sign)
        elif fact.nps_score <= 6:
            deltas.add_point(fact.nps_at, "nps_detractors", **dims, agent=agent, sign=sign)


def add_conversations(
    deltas: Deltas, facts: Iterable[ConversationFact], t: Thresholds, sign: int = 1
) -> None:
    for fact in facts:
        add_conversation(deltas, fact, t, sign)
