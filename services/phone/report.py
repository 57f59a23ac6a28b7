"""A batch report built row by row, in the same memory however many rows come."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from services.phone.schemas import BatchReport, RecordResult


@dataclass
class ReportTally:
    """Counts every row; keeps the results of the first ``listed`` rows only."""

    listed: int
    counts: Counter[str] = field(default_factory=Counter)
    results: list[RecordResult] = field(default_factory=list)

    def add(self, result: RecordResult) -> None:
        self.counts[result.status] += 1
        if len(self.results) < self.listed:
            self.results.append(result)

    def report(self) -> BatchReport:
        rows = sum(self.counts.values())
        return BatchReport(
            rows=rows,
            accepted=self.counts["accepted"],
            duplicate=self.counts["duplicate"],
            rejected=self.counts["rejected"],
            results=self.results,
            omitted=rows - len(self.results),
        )
