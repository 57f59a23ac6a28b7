"""Every KPI of a scripted day computed straight from the script.

Nothing here goes through the metrics service's facts or buckets: each
conversation's script says what happened, and the formulas of docs/design.md
("KPI formulas") are applied to that, one countable item at a time.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from tests.metrics.by_hand_hours import open_ms
from tests.metrics.scenario import SHORT_ABANDON_MS, THRESHOLD_MS, Day
from tests.metrics.scenario_work import schedule_of


class Dims(TypedDict):
    channel: str
    queue: str


@dataclass(frozen=True)
class Item:
    """One countable thing: when it happened, what it is, and its dimensions."""

    at: datetime
    measure: str
    channel: str
    queue: str
    agent: str
    provider: str = ""
    ms: int = 0


def _ms(later: datetime, earlier: datetime) -> int:
    return round((later - earlier).total_seconds() * 1000)


def items_of(day: Day) -> list[Item]:
    """Everything the KPIs count, read straight from the scripts."""
    items: list[Item] = []
    for s in day.scripts:
        dims = Dims(channel=s.channel, queue=s.queue)
        items.append(Item(s.opened_at, "conversations", agent="", **dims))
        for at in s.inbound:
            items.append(Item(at, "inbound", s.channel, "", "", s.provider))
        for at in s.automated_inbound + s.bot_replies:
            items.append(Item(at, "automated", s.channel, "", "", s.provider))
        for at, agent in s.replies:
            items.append(Item(at, "outbound", s.channel, "", agent, s.provider))
        for outcome in s.outcomes:
            if outcome.measure is not None:
                measure = outcome.measure
                items.append(
                    Item(outcome.at, measure, s.channel, "", outcome.agent or "", s.provider)
                )
        hours = schedule_of(s)
        if s.replies:
            at, agent = min(s.replies)
            items.append(Item(at, "frt", agent=agent, ms=_ms(at, min(s.inbound)), **dims))
            bh = open_ms(hours, min(s.inbound), at)
            items.append(Item(at, "frt_bh", agent=agent, ms=bh, **dims))
        items.append(Item(s.opened_at, "queued", agent="", **dims))
        if s.answered_at is not None and s.wait_ms is not None:
            items.append(Item(s.answered_at, "answered", agent=s.agent, ms=s.wait_ms, **dims))
            if s.wait_ms <= THRESHOLD_MS[s.channel]:
                items.append(Item(s.answered_at, "answered_in_sl", agent=s.agent, **dims))
            if open_ms(hours, s.opened_at, s.answered_at) <= THRESHOLD_MS[s.channel]:
                items.append(Item(s.answered_at, "answered_in_sl_bh", agent=s.agent, **dims))
            items.append(Item(s.answered_at, "handled", agent=s.agent, **dims))
            if s.transfers:
                items.append(Item(s.answered_at, "transferred", agent=s.agent, **dims))
            # After-contact work: the wrap-up right after the contact (routing's), else the
            # provider's after-call seconds.
            wrap_up = min(s.wrap_ups, key=lambda w: (w[0], -w[1]))[1] if s.wrap_ups else None
            if s.ended_at is not None:
                after = wrap_up if wrap_up is not None else s.after_call_ms
                handle = s.talk_ms + s.hold_ms + after
                items.append(Item(s.ended_at, "handle", agent=s.agent, ms=handle, **dims))
            elif s.resolves:
                first = min(s.resolves)
                handle = _ms(first, s.answered_at) + (wrap_up or 0)
                items.append(Item(first, "handle", agent=s.agent, ms=handle, **dims))
        if s.abandoned_at is not None and s.abandon_wait_ms is not None:
            wait = s.abandon_wait_ms
            items.append(Item(s.abandoned_at, "abandoned", agent="", ms=wait, **dims))
            if wait < SHORT_ABANDON_MS:
                items.append(Item(s.abandoned_at, "abandoned_short", agent="", ms=wait, **dims))
            if open_ms(hours, s.opened_at, s.abandoned_at) < SHORT_ABANDON_MS:
                items.append(Item(s.abandoned_at, "abandoned_short_bh", agent="", **dims))
        if s.resolves:
            first, last = min(s.resolves), max(s.resolves)
            items.append(Item(first, "resolved", agent=s.agent, **dims))
            if s.reopens:
                items.append(Item(first, "reopened", agent=s.agent, **dims))
            items.append(
                Item(first, "resolution_first", agent=s.agent, ms=_ms(first, s.opened_at), **dims)
            )
            items.append(
                Item(last, "resolution_full", agent=s.agent, ms=_ms(last, s.opened_at), **dims)
            )
            for measure, at in (("resolution_first_bh", first), ("resolution_full_bh", last)):
                bh = open_ms(hours, s.opened_at, at)
                items.append(Item(at, measure, agent=s.agent, ms=bh, **dims))
        if s.csat is not None:
            score, at = s.csat
            items.append(Item(at, "csat_answers", agent=s.agent, **dims))
            if score >= 4:
                items.append(Item(at, "csat_satisfied", agent=s.agent, **dims))
        if s.nps is not None:
            score, at = s.nps
            items.append(Item(at, "nps_answers", agent=s.agent, **dims))
            if score >= 9:
                items.append(Item(at, "nps_promoters", agent=s.agent, **dims))
            elif score <= 6:
                items.append(Item(at, "nps_detractors", agent=s.agent, **dims))
    return items


def _pct(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else 100 * numerator / denominator


def _mean(values: list[int]) -> float | None:
    return None if not values else sum(values) / len(values) / 1000


def _rank(values: list[int], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1] / 1000


def expected(
    day: Day,
    start: datetime,
    end: datetime,
    *,
    channel: str | None = None,
    queue: str | None = None,
    agent: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Every KPI's value, counts and stats over ``[start, end)``, from the script alone."""
    chosen: dict[str, list[Item]] = defaultdict(list)
    for item in items_of(day):
        if not start <= item.at < end:
            continue
        if channel is not None and item.channel != channel:
            continue
        if queue is not None and item.queue != queue:
            continue
        if agent is not None and item.agent != agent:
            continue
        chosen[item.measure].append(item)

    def n(measure: str) -> int:
        return len(chosen[measure])

    def ms(measure: str) -> list[int]:
        return [i.ms for i in chosen[measure]]

    # Occupancy: the agents' overall activity, or with a channel or queue each channel's own.
    spent = {"handling": 0, "wrap_up": 0, "idle": 0}
    scoped = channel is not None or queue is not None
    for (who, scope), changes in day.activity.items():
        if agent is not None and who != agent:
            continue
        if (scope != "") != scoped or (channel is not None and scope != channel):
            continue
        for (since, state, in_queue), (until, _, _) in itertools.pairwise(changes):
            if queue is not None and in_queue != queue:
                continue
            overlap = _ms(min(until, end), max(since, start))
            if overlap > 0 and state in spent:
                spent[state] += overlap
    working = spent["handling"] + spent["wrap_up"]

    def timed(values: list[int], count_name: str) -> dict[str, Any]:
        return {
            "value": _mean(values),
            "counts": {count_name: len(values), "total_ms": sum(values)},
            "stats": {},
        }

    frt = timed(ms("frt"), "responded")
    frt["stats"] = {
        "mean": frt["value"],
        "median": _rank(ms("frt"), 0.5),
        "p90": _rank(ms("frt"), 0.9),
    }
    answered, within = n("answered"), n("answered_in_sl")
    abandoned, short, queued = n("abandoned"), n("abandoned_short"), n("queued")
    resolved, reopened = n("resolved"), n("reopened")
    handled, transferred = n("handled"), n("transferred")
    answers, satisfied = n("csat_answers"), n("csat_satisfied")
    nps_answers, promoters, detractors = n("nps_answers"), n("nps_promoters"), n("nps_detractors")
    return {
        "volume": {
            "value": n("inbound"),
            "counts": {
                "inbound": n("inbound"),
                "outbound": n("outbound"),
                "automated": n("automated"),
                "conversations": n("conversations"),
            },
            "stats": {},
        },
        "delivery": {
            "value": _pct(
                n("reply_failed") + n("reply_undelivered"), n("reply_sent") + n("reply_failed")
            ),
            "counts": {
                "sent": n("reply_sent"),
                "delivered": n("reply_delivered"),
                "read": n("reply_read"),
                "failed": n("reply_failed"),
                "undelivered": n("reply_undelivered"),
            },
            "stats": {},
        },
        "first_response_time": frt,
        "first_resolution_time": timed(ms("resolution_first"), "resolved"),
        "full_resolution_time": timed(ms("resolution_full"), "resolved"),
        "handle_time": timed(ms("handle"), "handled"),
        "first_response_time_business_hours": timed(ms("frt_bh"), "responded"),
        "first_resolution_time_business_hours": timed(ms("resolution_first_bh"), "resolved"),
        "full_resolution_time_business_hours": timed(ms("resolution_full_bh"), "resolved"),
        "service_level_business_hours": {
            "value": _pct(n("answered_in_sl_bh"), answered + abandoned - n("abandoned_short_bh")),
            "counts": {
                "answered_within_threshold": n("answered_in_sl_bh"),
                "answered": answered,
                "abandoned": abandoned,
                "short_abandoned": n("abandoned_short_bh"),
                "denominator": answered + abandoned - n("abandoned_short_bh"),
            },
            "stats": {},
        },
        "service_level": {
            "value": _pct(within, answered + abandoned - short),
            "counts": {
                "answered_within_threshold": within,
                "answered": answered,
                "abandoned": abandoned,
                "short_abandoned": short,
                "denominator": answered + abandoned - short,
            },
            "stats": {},
        },
        "abandonment_rate": {
            "value": _pct(abandoned, queued),
            "counts": {"abandoned": abandoned, "short_abandoned": short, "queued": queued},
            "stats": {"short_abandon_rate": _pct(short, queued)},
        },
        "occupancy": {
            "value": _pct(working, working + spent["idle"]),
            "counts": {
                "handling_ms": spent["handling"],
                "wrap_up_ms": spent["wrap_up"],
                "idle_ms": spent["idle"],
            },
            "stats": {},
        },
        "transfer_rate": {
            "value": _pct(transferred, handled),
            "counts": {"transferred": transferred, "handled": handled},
            "stats": {},
        },
        "reopen_rate": {
            "value": _pct(reopened, resolved),
            "counts": {"reopened": reopened, "resolved": resolved},
            "stats": {},
        },
        "csat": {
            "value": _pct(satisfied, answers),
            "counts": {"satisfied": satisfied, "answers": answers, "resolved": resolved},
            "stats": {"response_rate": _pct(answers, resolved)},
        },
        "nps": {
            "value": _pct(promoters - detractors, nps_answers),
            "counts": {
                "promoters": promoters,
                "passives": nps_answers - promoters - detractors,
                "detractors": detractors,
                "answers": nps_answers,
            },
            "stats": {},
        },
    }


def expected_backlog(day: Day, queue: str) -> tuple[int, int, datetime | None]:
    """Open conversations of ``queue``, those never taken by an agent, and the oldest of them."""
    open_ = [
        s
        for s in day.scripts
        if s.queue == queue
        and s.abandoned_at is None
        and (not s.resolves or (s.reopens and max(s.reopens) > max(s.resolves)))
    ]
    waiting = [s for s in open_ if s.answered_at is None]
    oldest = min((s.opened_at for s in waiting), default=None)
    return len(open_), len(waiting), oldest
