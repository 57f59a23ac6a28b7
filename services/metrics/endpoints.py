"""HTTP endpoints of the metrics service."""

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.metrics import repository
from shared.errors import BadRequest
from shared.service import RuntimeDep

router = APIRouter(tags=["metrics"])


class VolumeRow(BaseModel):
    channel: str
    provider: str
    type: str
    direction: str
    events: int


class Volume(BaseModel):
    start: datetime
    end: datetime
    rows: list[VolumeRow]


@router.get("/kpis/volume", response_model=Volume)
async def volume(
    runtime: RuntimeDep,
    start: Annotated[datetime | None, Query(description="Default: 24 hours before end.")] = None,
    end: Annotated[datetime | None, Query(description="Default: now.")] = None,
) -> Volume:
    """Interaction volume per channel, provider, type and direction over a time range."""
    end = end or datetime.now(UTC)
    start = start or end - timedelta(hours=24)
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest("start and end must carry a time zone")
    if start >= end:
        raise BadRequest("start must be before end")
    async with runtime.database.transaction() as session:
        rows = await repository.volume(session, start=start, end=end)
    return Volume(start=start, end=end, rows=[VolumeRow.model_validate(r) for r in rows])
