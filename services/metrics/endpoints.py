"""HTTP endpoints of the metrics service."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from services.metrics import reports, service, surveys
from services.metrics.dashboard import render_dashboard
from services.metrics.repository.reads import Filters
from services.metrics.schemas import (
    KpiReport,
    Leaderboard,
    RebuildResult,
    SurveyAccepted,
    SurveyIn,
)
from services.metrics.settings import MetricsSettings
from shared.errors import BadRequest, Unauthorized
from shared.service import RuntimeDep
from shared.signatures import signatures_match

router = APIRouter(tags=["metrics"])

Start = Annotated[datetime | None, Query(description="Default: 24 hours before end.")]
End = Annotated[datetime | None, Query(description="Default: now.")]
Granularity = Annotated[str, Query(description="minute, hour or day.")]
# Postgres cannot hold a NUL character; refused here, before the CSV export starts streaming.
Dimension = Annotated[str | None, Query(max_length=128, pattern="^[^\x00]*$")]


def _filters(
    start: datetime | None,
    end: datetime | None,
    granularity: str,
    channel: str | None = None,
    queue: str | None = None,
    agent: str | None = None,
) -> Filters:
    end = end or datetime.now(UTC)
    if start is None:
        try:
            start = end - timedelta(hours=24)
        except OverflowError:
            raise BadRequest("end is too early for the default start, 24 hours before it") from None
    return Filters(granularity, start, end, channel, queue, agent)


def _settings(runtime: RuntimeDep) -> MetricsSettings:
    settings: MetricsSettings = runtime.state["settings"]
    return settings


@router.get("/kpis", response_model=KpiReport)
async def get_kpis(
    runtime: RuntimeDep,
    start: Start = None,
    end: End = None,
    granularity: Granularity = "hour",
    channel: Dimension = None,
    queue: Dimension = None,
    agent: Dimension = None,
) -> KpiReport:
    """Every KPI over the buckets starting in [start, end), in total and per bucket."""
    filters = _filters(start, end, granularity, channel, queue, agent)
    return await reports.kpi_report(
        runtime.database, filters=filters, settings=_settings(runtime), now=datetime.now(UTC)
    )


@router.get("/kpis/agents", response_model=Leaderboard)
async def agent_leaderboard(
    runtime: RuntimeDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    queue: Dimension = None,
) -> Leaderboard:
    """Per-agent KPIs over the range, the agents who handled most first."""
    filters = _filters(start, end, "minute", channel, queue)
    return await reports.leaderboard(runtime.database, filters=filters, by="agent")


@router.get("/kpis/queues", response_model=Leaderboard)
async def queue_leaderboard(
    runtime: RuntimeDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    agent: Dimension = None,
) -> Leaderboard:
    """Per-queue KPIs over the range, the busiest queues first."""
    filters = _filters(start, end, "minute", channel, None, agent)
    return await reports.leaderboard(runtime.database, filters=filters, by="queue")


@router.get("/exports/conversations.csv", response_class=StreamingResponse)
async def export_conversations(
    runtime: RuntimeDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    queue: Dimension = None,
) -> StreamingResponse:
    """Conversation facts (one CSV row each) of the conversations opened in [start, end)."""
    filters = _filters(start, end, "day", channel, queue)
    reports.check_range(start=filters.start, end=filters.end, granularity="hour")
    lines = reports.export_conversations(
        runtime.database, start=filters.start, end=filters.end, channel=channel, queue=queue
    )
    name = f"conversations_{filters.start:%Y%m%dT%H%M}_{filters.end:%Y%m%dT%H%M}.csv"
    return StreamingResponse(
        lines,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/surveys", status_code=202, response_model=SurveyAccepted)
async def post_survey(runtime: RuntimeDep, answer: SurveyIn) -> SurveyAccepted:
    """Record a CSAT (1-5) or NPS (0-10) answer for a conversation; 422 when out of range."""
    event = await surveys.record_survey(
        database=runtime.database,
        producer=runtime.producer,
        answer=answer,
        received_at=datetime.now(UTC),
    )
    return SurveyAccepted(event_id=str(event.event_id))


@router.post("/admin/rebuild", response_model=RebuildResult)
async def rebuild(
    runtime: RuntimeDep, authorization: Annotated[str | None, Header()] = None
) -> RebuildResult:
    """Recompute every KPI bucket from the facts (admin token required)."""
    settings = _settings(runtime)
    expected = f"Bearer {settings.admin_token.get_secret_value()}"
    if not signatures_match(expected, authorization):
        raise Unauthorized("an admin bearer token is required")
    return await service.rebuild(runtime.database, thresholds=service.thresholds_of(settings))


@router.get("/dashboard", response_class=HTMLResponse)
async def dashboard(runtime: RuntimeDep) -> HTMLResponse:
    """The wall-screen page: today's KPIs per channel, volume and service level over 24 hours."""
    return HTMLResponse(render_dashboard(refresh_s=_settings(runtime).dashboard_refresh_s))
