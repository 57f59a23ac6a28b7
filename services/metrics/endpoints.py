"""HTTP endpoints of the metrics service."""

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, StreamingResponse

from services.metrics import reports, service, surveys
from services.metrics.dashboard import render_dashboard
from services.metrics.deps import DatabaseDep, ProducerDep, SettingsDep, require_admin
from services.metrics.repository.reads import Filters
from services.metrics.schemas import (
    KpiReport,
    Leaderboard,
    RebuildResult,
    SurveyAccepted,
    SurveyIn,
)
from shared.clock import utc_now
from shared.errors import BadRequest

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
    end = end or utc_now()
    if start is None:
        try:
            start = end - timedelta(hours=24)
        except OverflowError:
            raise BadRequest("end is too early for the default start, 24 hours before it") from None
    return Filters(granularity, start, end, channel, queue, agent)


@router.get("/kpis", response_model=KpiReport)
async def get_kpis(
    database: DatabaseDep,
    settings: SettingsDep,
    start: Start = None,
    end: End = None,
    granularity: Granularity = "hour",
    channel: Dimension = None,
    queue: Dimension = None,
    agent: Dimension = None,
) -> KpiReport:
    """Every KPI over the buckets starting in [start, end), in total and per bucket."""
    filters = _filters(start, end, granularity, channel, queue, agent)
    return await reports.kpi_report(database, filters=filters, settings=settings, now=utc_now())


@router.get("/kpis/agents", response_model=Leaderboard)
async def agent_leaderboard(
    database: DatabaseDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    queue: Dimension = None,
) -> Leaderboard:
    """Per-agent KPIs over the range, the agents who handled most first."""
    filters = _filters(start, end, "minute", channel, queue)
    return await reports.leaderboard(database, filters=filters, by="agent")


@router.get("/kpis/queues", response_model=Leaderboard)
async def queue_leaderboard(
    database: DatabaseDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    agent: Dimension = None,
) -> Leaderboard:
    """Per-queue KPIs over the range, the busiest queues first."""
    filters = _filters(start, end, "minute", channel, None, agent)
    return await reports.leaderboard(database, filters=filters, by="queue")


@router.get("/exports/conversations.csv", response_class=StreamingResponse)
async def export_conversations(
    database: DatabaseDep,
    start: Start = None,
    end: End = None,
    channel: Dimension = None,
    queue: Dimension = None,
) -> StreamingResponse:
    """Conversation facts (one CSV row each) of the conversations opened in [start, end)."""
    filters = _filters(start, end, "day", channel, queue)
    reports.check_range(start=filters.start, end=filters.end, granularity="hour")
    lines = reports.export_conversations(
        database, start=filters.start, end=filters.end, channel=channel, queue=queue
    )
    name = f"conversations_{filters.start:%Y%m%dT%H%M}_{filters.end:%Y%m%dT%H%M}.csv"
    return StreamingResponse(
        lines,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.post("/surveys", status_code=202, response_model=SurveyAccepted)
async def post_survey(
    database: DatabaseDep, producer: ProducerDep, answer: SurveyIn
) -> SurveyAccepted:
    """Record a CSAT (1-5) or NPS (0-10) answer for a conversation; 422 when out of range."""
    event = await surveys.record_survey(
        database=database, producer=producer, answer=answer, received_at=utc_now()
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
