"""HTTP endpoints of the metrics service."""

import re
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from services.metrics import outcome_reports, reports, service, surveys
from services.metrics.dashboard import render_dashboard
from services.metrics.deps import (
    DatabaseDep,
    KpiReaderDep,
    ProducerDep,
    SettingsDep,
    SupervisorDep,
    principal_of,
    require_admin,
)
from services.metrics.repository.reads import Filters
from services.metrics.schemas import (
    KpiReport,
    Leaderboard,
    OutcomeReport,
    RebuildResult,
    SurveyAccepted,
    SurveyIn,
)
from shared.auth import Principal, bearer_token
from shared.clock import utc_now
from shared.errors import BadRequest, Forbidden
from shared.events import Role

router = APIRouter(tags=["metrics"])

Start = Annotated[datetime | None, Query(description="Default: 24 hours before end.")]
End = Annotated[datetime | None, Query(description="Default: now.")]
# Checked by the report (400 naming the choices), listed in the OpenAPI document.
Granularity = Annotated[
    str,
    Query(
        description="minute, hour or day.", json_schema_extra={"enum": ["minute", "hour", "day"]}
    ),
]
# Postgres cannot hold a NUL character; refused here, before the CSV export starts streaming.
Dimension = Annotated[str | None, Query(max_length=128, pattern="^[^\x00]*$")]
LabelFilter = Annotated[
    list[str] | None,
    Query(
        description="Only conversations carrying this label (repeat it: any of them). A "
        "label joins when the report is read, so it counts figures recorded before it was set.",
    ),
]
#: A label as routing allows it; at most this many in one filter.
LABEL_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_LABEL_FILTERS = 20


def _labels(label: list[str] | None) -> tuple[str, ...]:
    """The ``label=`` filter, checked: lowercase slugs of up to 64 characters."""
    found = sorted(set(label or []))
    bad = [name for name in found if not LABEL_PATTERN.match(name)]
    if bad:
        raise BadRequest("a label is a lowercase slug of up to 64 characters", detail=bad[:5])
    if len(found) > MAX_LABEL_FILTERS:
        raise BadRequest(f"at most {MAX_LABEL_FILTERS} labels in one filter")
    return tuple(found)


def _filters(
    start: datetime | None,
    end: datetime | None,
    granularity: str,
    channel: str | None = None,
    queue: str | None = None,
    agent: str | None = None,
    labels: tuple[str, ...] = (),
) -> Filters:
    end = end or utc_now()
    if start is None:
        try:
            start = end - timedelta(hours=24)
        except OverflowError:
            raise BadRequest("end is too early for the default start, 24 hours before it") from None
    return Filters(granularity, start, end, channel, queue, agent, labels)


#: Who may read the leaderboards: everyone who reads KPIs but a single agent.
TEAM_READERS = (Role.ADMIN, Role.SUPERVISOR, Role.SERVICE, Role.WALL)


def _agent_scope(reader: Principal, agent: str | None) -> str | None:
    """The ``agent`` filter a reader may use: an agent's own figures only."""
    if reader.role is not Role.AGENT:
        return agent
    own = str(reader.agent_id)
    if agent not in (None, own):
        raise Forbidden("an agent reads only their own figures", detail={"agent": own})
    return own


@router.get("/kpis", response_model=KpiReport)
async def get_kpis(
    database: DatabaseDep,
    settings: SettingsDep,
    reader: KpiReaderDep,
    start: Start = None,
    end: End = None,
    granularity: Granularity = "hour",
    channel: Dimension = None,
    queue: Dimension = None,
    agent: Dimension = None,
    label: LabelFilter = None,
) -> KpiReport:
    """Every KPI over the buckets starting in [start, end), in total and per bucket (an
    agent's token: that agent's only); `label=` keeps the conversations carrying it."""
    scope = _agent_scope(reader, agent)
    filters = _filters(start, end, granularity, channel, queue, scope, _labels(label))
    return await reports.kpi_report(database, filters=filters, settings=settings, now=utc_now())


@router.get("/kpis/agents", response_model=Leaderboard)
async def agent_leaderboard(
    database: DatabaseDep,
    settings: SettingsDep,
    reader: KpiReaderDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    queue: Dimension = None,
    label: LabelFilter = None,
) -> Leaderboard:
    """Per-agent KPIs over the range, the agents who handled most first."""
    reader.require(*TEAM_READERS)
    filters = _filters(start, end, "minute", channel, queue, None, _labels(label))
    return await reports.leaderboard(database, filters=filters, by="agent", settings=settings)


@router.get("/kpis/queues", response_model=Leaderboard)
async def queue_leaderboard(
    database: DatabaseDep,
    settings: SettingsDep,
    reader: KpiReaderDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    agent: Dimension = None,
    label: LabelFilter = None,
) -> Leaderboard:
    """Per-queue KPIs over the range, the busiest queues first."""
    reader.require(*TEAM_READERS)
    filters = _filters(start, end, "minute", channel, None, agent, _labels(label))
    return await reports.leaderboard(database, filters=filters, by="queue", settings=settings)


@router.get("/kpis/labels", response_model=Leaderboard)
async def label_report(
    database: DatabaseDep,
    settings: SettingsDep,
    reader: KpiReaderDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    queue: Dimension = None,
    agent: Dimension = None,
    label: LabelFilter = None,
) -> Leaderboard:
    """Every KPI per label over the range (a conversation with two labels counts under both),
    the labels with most handled contacts first; `label=` limits the labels."""
    reader.require(*TEAM_READERS)
    filters = _filters(start, end, "minute", channel, queue, agent, _labels(label))
    return await reports.by_label(database, filters=filters, settings=settings)


Period = Annotated[
    str,
    Query(
        description="month (calendar), week (ISO, from Monday) or day; UTC.",
        json_schema_extra={"enum": ["month", "week", "day"]},
    ),
]
#: How far back an outcome report reaches without a start: twelve periods or so.
DEFAULT_OUTCOME_SPAN = {"month": timedelta(days=365), "week": timedelta(weeks=12)}


def _outcome_range(start: datetime | None, end: datetime | None, span: timedelta) -> Filters:
    end = end or utc_now()
    if start is None:
        try:
            start = end - span
        except OverflowError:
            raise BadRequest("end is too early for the default start") from None
    return Filters("day", start, end)


@router.get("/kpis/outcomes", response_model=OutcomeReport)
async def get_outcomes(
    database: DatabaseDep,
    settings: SettingsDep,
    reader: KpiReaderDep,
    start: Annotated[
        datetime | None,
        Query(description="Default: a year (month), 12 weeks (week) or 30 days (day) before end."),
    ] = None,
    end: End = None,
    period: Period = "month",
) -> OutcomeReport:
    """Customer outcomes per period starting in [start, end): retention, churn, revenue,
    first-contact resolution, churn by the service customers had, and cohorts' lifetime
    value."""
    reader.require(*TEAM_READERS)
    span = DEFAULT_OUTCOME_SPAN.get(period, timedelta(days=30))
    f = _outcome_range(start, end, span)
    return await outcome_reports.outcome_report(
        database,
        start=f.start,
        end=f.end,
        period=period,
        window=timedelta(seconds=settings.repeat_window_s),
        thresholds=service.thresholds_of(settings),
        now=utc_now(),
    )


@router.get("/exports/customers.csv", response_class=StreamingResponse)
async def export_customers(
    database: DatabaseDep,
    settings: SettingsDep,
    _: SupervisorDep,
    start: Start = None,
    end: End = None,
) -> StreamingResponse:
    """Customers (one CSV row each) with their service and outcome figures over [start,
    end); supervisor or admin."""
    f = _outcome_range(start, end, timedelta(days=30))
    outcome_reports.check_outcome_range(start=f.start, end=f.end, period="month")
    lines = outcome_reports.export_customers(
        database,
        start=f.start,
        end=f.end,
        window=timedelta(seconds=settings.repeat_window_s),
        thresholds=service.thresholds_of(settings),
        now=utc_now(),
    )
    name = f"customers_{f.start:%Y%m%dT%H%M}_{f.end:%Y%m%dT%H%M}.csv"
    return StreamingResponse(
        lines,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/exports/conversations.csv", response_class=StreamingResponse)
async def export_conversations(
    database: DatabaseDep,
    _: SupervisorDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    queue: Dimension = None,
    label: LabelFilter = None,
) -> StreamingResponse:
    """Conversation facts (one CSV row each, with their labels) of the conversations opened
    in [start, end); supervisor or admin."""
    filters = _filters(start, end, "day", channel, queue, None, _labels(label))
    reports.check_range(start=filters.start, end=filters.end, granularity="hour")
    lines = reports.export_conversations(
        database,
        start=filters.start,
        end=filters.end,
        channel=channel,
        queue=queue,
        labels=filters.labels,
    )
    name = f"conversations_{filters.start:%Y%m%dT%H%M}_{filters.end:%Y%m%dT%H%M}.csv"
    return StreamingResponse(
        lines,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/surveys", status_code=202, response_model=SurveyAccepted)
async def post_survey(
    database: DatabaseDep,
    producer: ProducerDep,
    settings: SettingsDep,
    answer: SurveyIn,
    authorization: Annotated[
        str | None, Header(description="Bearer service token, for answers without a token")
    ] = None,
) -> SurveyAccepted:
    """Record a CSAT (1-5) or NPS (0-10) answer for a conversation, with the conversation's
    survey token or a service token; 422 when out of range."""
    caller = None
    if answer.token is None and authorization is not None:
        caller = await principal_of(database, settings, bearer_token(authorization))
    now = utc_now()
    answer = surveys.authorized_answer(
        answer, secret=settings.survey_secret, caller=caller, now=now
    )
    event = await surveys.record_survey(
        database=database, producer=producer, answer=answer, received_at=now
    )
    return SurveyAccepted(event_id=str(event.event_id))


@router.post("/admin/rebuild", response_model=RebuildResult, dependencies=[Depends(require_admin)])
async def rebuild(database: DatabaseDep, settings: SettingsDep) -> RebuildResult:
    """Recompute every KPI bucket from the facts (admin token required)."""
    return await service.rebuild(database, thresholds=service.thresholds_of(settings))


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(settings: SettingsDep) -> HTMLResponse:
    """The wall-screen page: today's KPIs per channel, volume and service level over 24 hours."""
    return HTMLResponse(render_dashboard(refresh_s=settings.dashboard_refresh_s))
