"""Request and response bodies of the metrics API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field, model_validator

from shared.events import Channel

#: The scales of the two surveys, inclusive.
SCORE_RANGES = {"csat": (1, 5), "nps": (0, 10)}


class Kpi(BaseModel):
    """One KPI: its value, the formula that made it and the counts it was made from."""

    name: str
    formula: str
    unit: str
    value: float | None = Field(description="None when the denominator is zero.")
    counts: dict[str, int] = Field(default_factory=dict)
    stats: dict[str, float | None] = Field(default_factory=dict)


class Backlog(BaseModel):
    as_of: datetime
    open: int
    waiting: int
    oldest_waiting_since: datetime | None
    longest_wait_seconds: float | None


class VolumeLine(BaseModel):
    channel: str
    provider: str
    inbound: int = 0
    outbound: int = 0
    automated: int = 0
    reply_sent: int = 0
    reply_delivered: int = 0
    reply_read: int = 0
    reply_failed: int = 0
    reply_undelivered: int = 0


class KpiBucket(BaseModel):
    start: datetime
    kpis: dict[str, Kpi]


class KpiReport(BaseModel):
    start: datetime
    end: datetime
    granularity: str
    channel: str | None
    queue: str | None
    agent: str | None
    labels: list[str] = Field(
        default_factory=list, description="Conversations carrying any of these labels."
    )
    service_level_thresholds_seconds: dict[str, float]
    short_abandon_seconds: float
    totals: dict[str, Kpi]
    volume_by_provider: list[VolumeLine]
    backlog: Backlog
    buckets: list[KpiBucket]


class LeaderboardRow(BaseModel):
    key: str
    kpis: dict[str, Kpi]


class Leaderboard(BaseModel):
    start: datetime
    end: datetime
    by: str
    rows: list[LeaderboardRow]


class SurveyIn(BaseModel):
    """A CSAT (1-5) or NPS (0-10) answer for a conversation.

    The customer's answer carries the survey ``token`` issued when the conversation was
    resolved (it names the conversation and the kind); a survey tool answers with a
    service token in ``Authorization`` instead, and names the conversation itself.
    """

    token: str | None = Field(
        default=None, max_length=2048, description="The survey token of the conversation."
    )
    conversation_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Needed with a service token; with a survey token, the token's.",
    )
    kind: str = Field(pattern=r"^(csat|nps)$")
    score: int
    channel: Channel | None = Field(
        default=None, description="Needed only when metrics has not seen the conversation yet."
    )
    response_id: str | None = Field(
        default=None,
        max_length=200,
        description="The survey tool's answer id; retries with the same id count once.",
    )
    answered_at: datetime | None = Field(
        default=None, description="Taken from a service token's caller only; else: received."
    )

    @model_validator(mode="after")
    def _score_in_range(self) -> SurveyIn:
        low, high = SCORE_RANGES[self.kind]
        if not low <= self.score <= high:
            raise ValueError(f"{self.kind} score must be between {low} and {high}")
        if self.answered_at is not None and self.answered_at.tzinfo is None:
            raise ValueError("answered_at must carry a time zone")
        return self


class SurveyAccepted(BaseModel):
    event_id: str


class RebuildResult(BaseModel):
    conversations: int
    volume_minutes: int
    status_changes: int
    activity_changes: int = 0
    bucket_rows: int


class RevenueLine(BaseModel):
    """One currency's revenue in a period (currencies are never added together)."""

    currency: str
    revenue: Decimal
    customers: int = Field(description="Customers active at some time in the period.")
    per_customer: Decimal | None = Field(description="revenue / customers; None without any.")


class OutcomeGroup(BaseModel):
    """Churn and retention of the customers one service split puts in one group."""

    group: str
    active_at_start: int
    churned: int
    retention: float | None
    churn_rate: float | None


class OutcomeSplit(BaseModel):
    by: str
    groups: list[OutcomeGroup]


class OutcomePeriod(BaseModel):
    start: datetime
    end: datetime
    kpis: dict[str, Kpi]
    revenue: list[RevenueLine]
    service: list[OutcomeSplit]


class CohortValue(BaseModel):
    """Historical lifetime value of the customers first active in one month, in one currency."""

    cohort: str = Field(description="The month of the customers' first activation or order.")
    currency: str
    customers: int
    revenue: Decimal = Field(description="Their orders' amounts to the report's end.")
    mean: Decimal
    median: Decimal


class OutcomeReport(BaseModel):
    start: datetime
    end: datetime
    period: str
    as_of: datetime
    repeat_window_seconds: float
    formulas: dict[str, str]
    totals: dict[str, Kpi]
    periods: list[OutcomePeriod]
    lifetime_value: list[CohortValue]
