"""Filling the report rollups from ``kpi_bucket`` and the facts, for bulk loads.

The consumer keeps ``kpi_rollup``, ``frt_count``, ``frt_count_all`` and their per-second
twins in step with ``kpi_bucket`` row by row. A bulk load that writes ``kpi_bucket`` and
``conversation_fact`` straight in SQL runs these statements afterwards, in
order, to give the rollups what the consumer would have written.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.metrics.contributions import FRT_GRANULARITIES
from services.metrics.models import FRT_BIN_MS

#: The first response in milliseconds exactly as ``contributions.first_response_ms``
#: gives it: Python rounds the double ``seconds * 1000`` half to even, as ``round`` on
#: a double precision does in Postgres (on a numeric it would round half up).
FRT_MS_SQL = (
    "round(extract(epoch FROM first_reply_at - first_inbound_at)::float8 * 1000::float8)::bigint"
)


def rollup_sql(measures: Sequence[str] = ()) -> str:
    """``kpi_rollup`` summed from ``kpi_bucket`` over agents; only ``measures`` when given (a
    bulk load can fill disjoint sets of measures side by side)."""
    only = f"WHERE measure IN ({', '.join(repr(m) for m in measures)})" if measures else ""
    return f"""
    INSERT INTO metrics.kpi_rollup
    SELECT granularity, bucket_start, measure, channel, queue, provider, sum(n), sum(total_ms)
    FROM metrics.kpi_bucket {only}
    GROUP BY granularity, bucket_start, measure, channel, queue, provider
    """  # noqa: S608 (measure names of the code only)


#: The per-second counts summed from ``frt_count``: run after it is filled.
FRT_SECOND_COUNT_SQL: tuple[str, ...] = (
    f"""
    INSERT INTO metrics.frt_second_count
    SELECT granularity, bucket_start, channel, queue, frt_ms / {FRT_BIN_MS}, sum(n)
    FROM metrics.frt_count GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
    """,  # noqa: S608 (constants of the code only)
    """
    INSERT INTO metrics.frt_second_count_all
    SELECT granularity, bucket_start, frt_second, sum(n)
    FROM metrics.frt_second_count GROUP BY 1, 2, 3 HAVING sum(n) <> 0
    """,
)

#: ``frt_count`` from the facts, then ``frt_count_all`` and the per-second counts from it:
#: independent of ``kpi_bucket``.
FRT_COUNT_SQL: tuple[str, ...] = (
    *(
        f"""
        INSERT INTO metrics.frt_count
        SELECT '{granularity}', date_trunc('{granularity}', first_reply_at, 'UTC'),
               coalesce(channel, ''), coalesce(queue, ''), {FRT_MS_SQL}, count(*)
        FROM metrics.conversation_fact
        WHERE first_inbound_at IS NOT NULL AND first_reply_at >= first_inbound_at
        GROUP BY 2, 3, 4, 5
        """  # noqa: S608 (constants of this module only)
        for granularity in FRT_GRANULARITIES
    ),
    """
    INSERT INTO metrics.frt_count_all
    SELECT granularity, bucket_start, frt_ms, sum(n)
    FROM metrics.frt_count GROUP BY granularity, bucket_start, frt_ms
    """,
    *FRT_SECOND_COUNT_SQL,
)

#: Every rollup filled again, in order.
FILL_SQL: tuple[str, ...] = (
    "TRUNCATE metrics.kpi_rollup, metrics.frt_count, metrics.frt_count_all, "
    "metrics.frt_second_count, metrics.frt_second_count_all",
    rollup_sql(),
    *FRT_COUNT_SQL,
)
