"""KPI reports, leaderboards and the conversation export, read from buckets and facts."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from services.metrics import kpis, labeled
from services.metrics.contributions import (
    abandon_wait_ms,
    answer_wait_ms,
    bucket_start,
    first_response_ms,
    handle_ms,
)
from services.metrics.facts import ConversationFact
from services.metrics.repository import labels, reads
from services.metrics.repository.reads import Filters
from services.metrics.schemas import (
    Backlog,
    Kpi,
    KpiBucket,
    KpiReport,
    Leaderboard,
    LeaderboardRow,
    VolumeLine,
)
from services.metrics.service import thresholds_of
from services.metrics.settings import MetricsSettings
from shared.db import Database
from shared.errors import BadRequest

GRANULARITIES = ("minute", "hour", "day")
#: Buckets a single report may return, so a minute-level year cannot exhaust memory.
MAX_BUCKETS = 5000
_BUCKET_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def check_range(*, start: datetime, end: datetime, granularity: str) -> None:
    if granularity not in GRANULARITIES:
        raise BadRequest(f"granularity must be one of {', '.join(GRANULARITIES)}")
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest("start and end must carry a time zone")
    if start >= end:
        raise BadRequest("start must be before end")
    if (end - start).total_seconds() / _BUCKET_SECONDS[granularity] > MAX_BUCKETS:
        raise BadRequest(f"the range holds more than {MAX_BUCKETS} {granularity} buckets")


def _sums(rows: list[tuple[str, int, int]]) -> dict[str, tuple[int, int]]:
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for measure, n, total in rows:
        sums[measure][0] += n
        sums[measure][1] += total
    return {measure: (n, total) for measure, (n, total) in sums.items()}


def _scoped(filters: Filters) -> bool:
    """Whether the sums are a channel's or a queue's (occupancy then reads channel activity)."""
    return filters.channel is not None or filters.queue is not None


async def kpi_report(
    database: Database, *, filters: Filters, settings: MetricsSettings, now: datetime
) -> KpiReport:
    """Every KPI over the buckets whose start lies in ``[start, end)``, with per-bucket values;
    with labels, of the conversations carrying any of them (``labeled.py``)."""
    f = filters
    check_range(start=f.start, end=f.end, granularity=f.granularity)
    breakdown: list[tuple[str, str, str, int]] = []
    async with database.transaction() as session:
        if f.labels:
            facts = [
                fact
                for fact, _ in await labels.facts_labeled(
                    session, labels=f.labels, start=f.start, end=f.end
                )
            ]
            deltas = labeled.deltas_of(facts, thresholds_of(settings))
            rows = labeled.bucket_rows(deltas, f)
            frt_total, frt_buckets = labeled.first_response_percentiles(facts, f)
        else:
            rows = await reads.bucket_sums(session, f)
            frt_total, frt_buckets = await reads.first_response_percentiles(session, f)
            breakdown = await reads.volume_breakdown(session, f)
        open_, waiting, oldest = await reads.backlog(
            session, channel=f.channel, queue=f.queue, agent=f.agent, labels=f.labels
        )
    per_bucket: dict[datetime, list[tuple[str, int, int]]] = defaultdict(list)
    for start, measure, n, total in rows:
        per_bucket[start].append((measure, n, total))
    volume: dict[tuple[str, str], VolumeLine] = {}
    for channel, provider, measure, events in breakdown:
        line = volume.setdefault(
            (channel, provider), VolumeLine(channel=channel, provider=provider)
        )
        setattr(line, measure, events)

    def compute(items: list[tuple[str, int, int]], frt: reads.Percentiles | None) -> dict[str, Kpi]:
        computed = kpis.compute(_sums(items), frt, scoped=_scoped(f))
        return labeled.without_unattributed(computed) if f.labels else computed

    return KpiReport(
        start=f.start,
        end=f.end,
        granularity=f.granularity,
        channel=f.channel,
        queue=f.queue,
        agent=f.agent,
        labels=list(f.labels),
        service_level_thresholds_seconds={
            channel: ms / 1000 for channel, ms in settings.service_level_ms().items()
        },
        short_abandon_seconds=settings.short_abandon_s,
        totals=compute([(m, n, t) for _, m, n, t in rows], frt_total),
        volume_by_provider=list(volume.values()),
        backlog=Backlog(
            as_of=now,
            open=open_,
            waiting=waiting,
            oldest_waiting_since=oldest,
            longest_wait_seconds=None if oldest is None else (now - oldest).total_seconds(),
        ),
        buckets=[
            KpiBucket(start=start, kpis=compute(items, frt_buckets.get(start)))
            for start, items in sorted(per_bucket.items())
        ],
    )


def coarsest(filters: Filters) -> Filters:
    """The same range read from the coarsest buckets that tile it exactly (fewer rows)."""
    for granularity, seconds in (("day", 86400), ("hour", 3600), ("minute", 60)):
        bounds = (filters.start, filters.end)
        if all(t.microsecond == 0 and int(t.timestamp()) % seconds == 0 for t in bounds):
            return replace(filters, granularity=granularity)
    return filters


#: The KPIs each leaderboard shows.
_BOARD_KPIS = {
    "agent": ("handle_time", "first_response_time", "transfer_rate", "csat", "occupancy", "nps"),
    "queue": ("service_level", "abandonment_rate", "first_response_time", "handle_time", "csat"),
}


async def leaderboard(
    database: Database, *, filters: Filters, by: str, settings: MetricsSettings
) -> Leaderboard:
    """KPIs per agent or per queue over the range, busiest first (with labels: of the
    conversations carrying any of them)."""
    f = coarsest(filters)
    check_range(start=f.start, end=f.end, granularity=f.granularity)
    dimension = {"agent": "agent_id", "queue": "queue"}[by]
    async with database.transaction() as session:
        if f.labels:
            found = await labels.facts_labeled(session, labels=f.labels, start=f.start, end=f.end)
            deltas = labeled.deltas_of((fact for fact, _ in found), thresholds_of(settings))
            rows = labeled.rows_by(deltas, f, dimension)
        else:
            rows = await reads.sums_by(session, f, dimension)
    grouped: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for key, measure, n, total in rows:
        grouped[key].append((measure, n, total))
    board = []
    for key, items in grouped.items():
        sums = _sums(items)
        computed = kpis.compute(sums, None, scoped=by == "queue" or _scoped(f))
        if f.labels:
            computed = labeled.without_unattributed(computed)
        selected = {name: computed[name] for name in _BOARD_KPIS[by]}
        for kpi in selected.values():
            kpi.stats = {k: v for k, v in kpi.stats.items() if k not in ("median", "p90")}
        board.append((sums.get("handled", (0, 0))[0], sums.get("queued", (0, 0))[0], key, selected))
    return _board(f, by, board)


def _board(f: Filters, by: str, board: list[tuple[int, int, str, dict[str, Kpi]]]) -> Leaderboard:
    board.sort(key=lambda item: (-item[0], -item[1], item[2]))
    return Leaderboard(
        start=f.start,
        end=f.end,
        by=by,
        rows=[LeaderboardRow(key=key, kpis=selected) for _, _, key, selected in board],
    )


async def by_label(
    database: Database, *, filters: Filters, settings: MetricsSettings
) -> Leaderboard:
    """Every KPI per label over the range (a conversation with two labels counts under
    both), the labels with most handled contacts first; ``filters.labels`` limits the labels."""
    f = coarsest(filters)
    check_range(start=f.start, end=f.end, granularity=f.granularity)
    async with database.transaction() as session:
        found = await labels.facts_labeled(
            session, labels=f.labels or None, start=f.start, end=f.end
        )
    facts_of: dict[str, list[ConversationFact]] = defaultdict(list)
    for fact, names in found:
        for name in names:
            if not f.labels or name in f.labels:
                facts_of[name].append(fact)
    thresholds = thresholds_of(settings)
    board = []
    for name, facts in facts_of.items():
        items = [
            (m, n, t) for _, m, n, t in labeled.bucket_rows(labeled.deltas_of(facts, thresholds), f)
        ]
        if not items:
            continue
        frt, _ = labeled.first_response_percentiles(facts, f)
        sums = _sums(items)
        computed = labeled.without_unattributed(kpis.compute(sums, frt, scoped=_scoped(f)))
        board.append(
            (sums.get("handled", (0, 0))[0], sums.get("queued", (0, 0))[0], name, computed)
        )
    return _board(f, "label", board)


EXPORT_COLUMNS = (
    "conversation_key",
    "channel",
    "provider",
    "queue",
    "agent_id",
    "opened_at",
    "first_inbound_at",
    "first_reply_at",
    "first_reply_agent",
    "first_response_seconds",
    "answered_at",
    "answer_wait_seconds",
    "abandoned_at",
    "abandon_wait_seconds",
    "first_resolved_at",
    "last_resolved_at",
    "reopen_count",
    "transfer_count",
    "handle_seconds",
    "talk_seconds",
    "hold_seconds",
    "after_contact_seconds",
    "csat_score",
    "nps_score",
    "labels",
)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str) and value.startswith(("=", "+", "-", "@")):
        # Keys and ids come from customers' providers: never let a spreadsheet run them.
        return "'" + value
    return str(value)


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


async def export_conversations(
    database: Database,
    *,
    start: datetime,
    end: datetime,
    channel: str | None,
    queue: str | None,
    labels: Sequence[str] = (),
) -> AsyncIterator[str]:
    """CSV lines of the conversations opened in ``[start, end)`` (range checked by the caller),
    their labels joined by ``;``; with ``labels``, those carrying any of them."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    async with database.transaction() as session:
        async for fact, names in reads.facts_opened_between(
            session, start=start, end=end, channel=channel, queue=queue, labels=labels
        ):
            handled = handle_ms(fact)
            values = fact.as_row() | {
                "opened_at": fact.opened_at or fact.first_inbound_at,
                "first_response_seconds": _seconds(first_response_ms(fact)),
                "answer_wait_seconds": _seconds(answer_wait_ms(fact)),
                "abandon_wait_seconds": _seconds(abandon_wait_ms(fact)),
                "handle_seconds": None if handled is None else handled[1] / 1000,
                "talk_seconds": _seconds(fact.talk_ms),
                "hold_seconds": _seconds(fact.hold_ms),
                "after_contact_seconds": _seconds(fact.after_contact_ms),
                "labels": ";".join(names),
            }
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([_cell(values[column]) for column in EXPORT_COLUMNS])
            yield buffer.getvalue()


def day_of(now: datetime) -> datetime:
    return bucket_start(now.astimezone(UTC), "day")
