"""KPIs by label: worked out at read time from the facts of labeled conversations.

The buckets hold no conversation, so a label cannot filter them; instead the facts of the
conversations carrying a label are read with their labels (joined when the report is read,
so a label put on a conversation after its figures were counted still files them under it)
and put through the very contributions the buckets are made of (``contributions.py``): a
labeled report adds up what the buckets would hold if they had a label column.

Volume events, reply outcomes and agents' occupancy are not counted per conversation; under
a label they are left out (value null) and say so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from services.metrics.contributions import (
    Deltas,
    Thresholds,
    add_conversation,
    bucket_start,
    first_response_ms,
)
from services.metrics.facts import ConversationFact
from services.metrics.repository.reads import Filters, Percentiles
from services.metrics.schemas import Kpi

#: KPIs made of what is not counted per conversation: null under a label filter.
NOT_PER_CONVERSATION = {
    "volume": "inbound, outbound and automated events are counted per minute, not per "
    "conversation: under a label only the conversations count",
    "delivery": "reply outcomes are counted per minute, not per conversation: not computed "
    "under a label",
    "occupancy": "occupancy is agents' time, not a conversation's: not computed under a label",
}

#: (bucket_start, measure, n, total_ms)
Row = tuple[datetime, str, int, int]


def deltas_of(facts: Iterable[ConversationFact], thresholds: Thresholds) -> Deltas:
    """What ``facts`` add to the buckets, as the consumer adds it."""
    deltas = Deltas()
    for fact in facts:
        add_conversation(deltas, fact, thresholds, 1)
    return deltas


def _selected(f: Filters, channel: str, queue: str, agent: str) -> bool:
    return (
        (f.channel is None or channel == f.channel)
        and (f.queue is None or queue == f.queue)
        and (f.agent is None or agent == f.agent)
    )


def bucket_rows(deltas: Deltas, f: Filters) -> list[Row]:
    """``(bucket_start, measure, n, total_ms)`` of the buckets in ``f``'s range and filters."""
    rows: list[Row] = []
    for (granularity, start, measure, channel, queue, agent, _), (n, total) in sorted(
        deltas.sums.items()
    ):
        if granularity != f.granularity or not f.start <= start < f.end:
            continue
        if _selected(f, channel, queue, agent) and (n or total):
            rows.append((start, measure, n, total))
    return rows


def rows_by(deltas: Deltas, f: Filters, dimension: str) -> list[tuple[str, str, int, int]]:
    """``(agent or queue, measure, n, total_ms)`` over the range, as a leaderboard reads."""
    index = {"agent_id": 5, "queue": 4}[dimension]
    rows = []
    for key, (n, total) in sorted(deltas.sums.items()):
        granularity, start, measure, channel, queue, agent = key[:6]
        if granularity != f.granularity or not f.start <= start < f.end:
            continue
        if _selected(f, channel, queue, agent) and key[index] != "" and (n or total):
            rows.append((str(key[index]), measure, n, total))
    return rows


def _nearest_rank(values: Sequence[int], p: float) -> float:
    return float(values[math.ceil(p * len(values)) - 1])


def first_response_percentiles(
    facts: Iterable[ConversationFact], f: Filters
) -> tuple[Percentiles | None, dict[datetime, Percentiles]]:
    """Median and p90 (nearest rank) of the facts' first responses, overall and per bucket,
    chosen as ``reads.first_response_percentiles`` chooses them."""
    per_bucket: dict[datetime, list[int]] = defaultdict(list)
    for fact in facts:
        frt = first_response_ms(fact)
        if frt is None or fact.first_reply_at is None:
            continue
        if not _selected(f, fact.channel or "", fact.queue or "", fact.first_reply_agent or ""):
            continue
        start = bucket_start(fact.first_reply_at, f.granularity)
        if f.start <= start < f.end:
            per_bucket[start].append(frt)

    def percentiles(values: list[int]) -> Percentiles:
        values.sort()
        return Percentiles(len(values), _nearest_rank(values, 0.5), _nearest_rank(values, 0.9))

    every = [v for values in per_bucket.values() for v in values]
    total = percentiles(every) if every else None
    return total, {start: percentiles(v) for start, v in sorted(per_bucket.items())}


def without_unattributed(computed: dict[str, Kpi]) -> dict[str, Kpi]:
    """The KPIs of a labeled report: those not counted per conversation say so."""
    for name, why in NOT_PER_CONVERSATION.items():
        kpi = computed.get(name)
        if kpi is None:
            continue
        counts = {"conversations": kpi.counts["conversations"]} if name == "volume" else {}
        update = {"value": None, "counts": counts, "formula": f"{kpi.formula} ({why})"}
        computed[name] = kpi.model_copy(update=update)
    return computed
