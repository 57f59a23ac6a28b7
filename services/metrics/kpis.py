"""The KPI formulas of docs/design.md ("KPI formulas"), applied to bucket sums.

Each KPI names its formula and returns the counts it was computed from, so a
reader can check the arithmetic. Rates are percentages; times are seconds.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.metrics.repository.reads import Percentiles
from services.metrics.schemas import Kpi

#: measure -> (n, total_ms)
Sums = Mapping[str, tuple[int, int]]

FORMULAS = {
    "volume": "inbound = customer messages and inbound calls; outbound = agents' messages "
    "and calls; automated = bots, auto-replies, bounces",
    "delivery": "failure rate = (failed + undelivered) / (sent + failed); sent and failed are "
    "the connector's own outcome of each agent's reply (message.status with status_of), one per "
    "reply; delivered, read and undelivered are the provider's receipts, which carry no agent",
    "first_response_time": "first human agent reply - first inbound customer message; "
    "mean, median and p90 (nearest rank) over conversations first answered in the range",
    "first_resolution_time": "sum(first resolve - opening) / resolved conversations",
    "full_resolution_time": "sum(last resolve - opening) / resolved conversations",
    "handle_time": "sum(call talk + hold + after-call work; message accepted -> first resolve "
    "+ wrap-up) / handled contacts; after-contact work is routing's wrap-up, else the "
    "provider's after-call seconds",
    "service_level": "answered within T / (answered + abandoned - short abandons)",
    "abandonment_rate": "abandoned (short ones included) / queued",
    "first_response_time_business_hours": "sum(first reply - first inbound, counting only the "
    "time the queue was open) / conversations first answered in the range",
    "first_resolution_time_business_hours": "sum(first resolve - opening, counting only the time "
    "the queue was open) / resolved conversations",
    "full_resolution_time_business_hours": "sum(last resolve - opening, counting only the time "
    "the queue was open) / resolved conversations",
    "service_level_business_hours": "answered within T of open time / (answered + abandoned - "
    "abandons shorter than the short-abandon limit of open time); the wait counts only the "
    "time the queue was open",
    "occupancy": "(time handling at least one contact + time in wrap-up) / (that time + time "
    "available and idle), from routing's agent activity; per channel and queue, each "
    "channel's own activity, idle time counted in the queue the agent last served there",
    "transfer_rate": "handled contacts transferred at least once / handled contacts",
    "reopen_rate": "resolved conversations reopened at least once / resolved conversations",
    "csat": "answers of 4 or 5 / all answers (1-5 scale); response rate = answers / resolved",
    "nps": "(promoters 9-10 - detractors 0-6) / all answers (0-10 scale)",
}


def _n(sums: Sums, measure: str) -> int:
    return sums.get(measure, (0, 0))[0]


def _ms(sums: Sums, measure: str) -> int:
    return sums.get(measure, (0, 0))[1]


def percent(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else 100 * numerator / denominator


def mean_seconds(total_ms: int, count: int) -> float | None:
    return None if count == 0 else total_ms / count / 1000


def _kpi(name: str, unit: str, value: float | None, **counts: int) -> Kpi:
    return Kpi(name=name, formula=FORMULAS[name], unit=unit, value=value, counts=counts)


def _mean_time(name: str, sums: Sums, measure: str, count_name: str) -> Kpi:
    n, total = _n(sums, measure), _ms(sums, measure)
    return _kpi(name, "seconds", mean_seconds(total, n), **{count_name: n, "total_ms": total})


def _delivery(sums: Sums) -> Kpi:
    sent, failed = _n(sums, "reply_sent"), _n(sums, "reply_failed")
    undelivered = _n(sums, "reply_undelivered")
    return _kpi(
        "delivery",
        "percent",
        percent(failed + undelivered, sent + failed),
        sent=sent,
        delivered=_n(sums, "reply_delivered"),
        read=_n(sums, "reply_read"),
        failed=failed,
        undelivered=undelivered,
    )


def _business_hours(sums: Sums) -> list[Kpi]:
    """The business-hours twins: the same counts, clocks stopped while the queue is closed."""
    found = [
        _mean_time("first_response_time_business_hours", sums, "frt_bh", "responded"),
        _mean_time("first_resolution_time_business_hours", sums, "resolution_first_bh", "resolved"),
        _mean_time("full_resolution_time_business_hours", sums, "resolution_full_bh", "resolved"),
    ]
    within, answered = _n(sums, "answered_in_sl_bh"), _n(sums, "answered")
    abandoned, short = _n(sums, "abandoned"), _n(sums, "abandoned_short_bh")
    found.append(
        _kpi(
            "service_level_business_hours",
            "percent",
            percent(within, answered + abandoned - short),
            answered_within_threshold=within,
            answered=answered,
            abandoned=abandoned,
            short_abandoned=short,
            denominator=answered + abandoned - short,
        )
    )
    return found


def _occupancy(sums: Sums, *, scoped: bool) -> Kpi:
    prefix = "channel_" if scoped else "agent_"
    handling, wrap_up = _ms(sums, f"{prefix}handling"), _ms(sums, f"{prefix}wrap_up")
    idle = _ms(sums, f"{prefix}idle")
    working = handling + wrap_up
    return _kpi(
        "occupancy",
        "percent",
        percent(working, working + idle),
        handling_ms=handling,
        wrap_up_ms=wrap_up,
        idle_ms=idle,
    )


def compute(sums: Sums, frt: Percentiles | None, *, scoped: bool = False) -> dict[str, Kpi]:
    """Every KPI from the sums of one range (or one bucket) and its FRT percentiles;
    ``scoped``: the sums are filtered by channel or queue (occupancy then reads each
    channel's activity rather than the agents' overall one)."""
    kpis: list[Kpi] = []
    inbound, outbound, automated = _n(sums, "inbound"), _n(sums, "outbound"), _n(sums, "automated")
    conversations = _n(sums, "conversations")
    kpis.append(
        _kpi(
            "volume",
            "events",
            inbound,
            inbound=inbound,
            outbound=outbound,
            automated=automated,
            conversations=conversations,
        )
    )
    kpis.append(_delivery(sums))
    first_response = _mean_time("first_response_time", sums, "frt", "responded")
    first_response.stats = {
        "mean": first_response.value,
        "median": None if frt is None else frt.median_ms / 1000,
        "p90": None if frt is None else frt.p90_ms / 1000,
    }
    kpis.append(first_response)
    kpis.append(_mean_time("first_resolution_time", sums, "resolution_first", "resolved"))
    kpis.append(_mean_time("full_resolution_time", sums, "resolution_full", "resolved"))
    kpis.append(_mean_time("handle_time", sums, "handle", "handled"))
    kpis += _business_hours(sums)

    answered, within = _n(sums, "answered"), _n(sums, "answered_in_sl")
    abandoned, short = _n(sums, "abandoned"), _n(sums, "abandoned_short")
    left_queue = answered + abandoned - short
    kpis.append(
        _kpi(
            "service_level",
            "percent",
            percent(within, left_queue),
            answered_within_threshold=within,
            answered=answered,
            abandoned=abandoned,
            short_abandoned=short,
            denominator=left_queue,
        )
    )
    queued = _n(sums, "queued")
    abandonment = _kpi(
        "abandonment_rate",
        "percent",
        percent(abandoned, queued),
        abandoned=abandoned,
        short_abandoned=short,
        queued=queued,
    )
    abandonment.stats = {"short_abandon_rate": percent(short, queued)}
    kpis.append(abandonment)

    kpis.append(_occupancy(sums, scoped=scoped))
    handled, transferred = _n(sums, "handled"), _n(sums, "transferred")
    kpis.append(
        _kpi(
            "transfer_rate",
            "percent",
            percent(transferred, handled),
            transferred=transferred,
            handled=handled,
        )
    )
    resolved, reopened = _n(sums, "resolved"), _n(sums, "reopened")
    kpis.append(
        _kpi(
            "reopen_rate",
            "percent",
            percent(reopened, resolved),
            reopened=reopened,
            resolved=resolved,
        )
    )
    answers, satisfied = _n(sums, "csat_answers"), _n(sums, "csat_satisfied")
    csat = _kpi(
        "csat",
        "percent",
        percent(satisfied, answers),
        satisfied=satisfied,
        answers=answers,
        resolved=resolved,
    )
    csat.stats = {"response_rate": percent(answers, resolved)}
    kpis.append(csat)
    nps_answers = _n(sums, "nps_answers")
    promoters, detractors = _n(sums, "nps_promoters"), _n(sums, "nps_detractors")
    kpis.append(
        _kpi(
            "nps",
            "score",
            percent(promoters - detractors, nps_answers),
            promoters=promoters,
            passives=nps_answers - promoters - detractors,
            detractors=detractors,
            answers=nps_answers,
        )
    )
    return {kpi.name: kpi for kpi in kpis}
