"""Request and response bodies of the phone connector."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.events import CallDisposition, Direction


class GenericCall(BaseModel):
    """One call from any telephony system, posted to ``/calls``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    call_id: str = Field(min_length=1, max_length=200, description="Unique per call.")
    direction: Direction
    from_number: str = Field(alias="from", min_length=1, max_length=100)
    to_number: str = Field(alias="to", min_length=1, max_length=100)
    started_at: AwareDatetime
    answered_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = Field(
        default=None, description="Unset while the call goes on."
    )
    disposition: CallDisposition | None = Field(default=None, description="Set with ended_at.")
    queue_wait_seconds: float | None = Field(default=None, ge=0)
    talk_seconds: float | None = Field(default=None, ge=0)
    recording_url: str | None = Field(default=None, max_length=2000)
    source: str = Field(default="generic", pattern=r"^[a-z0-9_\-]{1,40}$")

    @model_validator(mode="after")
    def _consistent(self) -> GenericCall:
        if (self.ended_at is None) != (self.disposition is None):
            raise ValueError("ended_at and disposition go together")
        moments: list[datetime] = [self.started_at]
        moments += [m for m in (self.answered_at, self.ended_at) if m is not None]
        if moments != sorted(moments):
            raise ValueError("started_at <= answered_at <= ended_at must hold")
        return self


class RecordResult(BaseModel):
    """What became of one row of an upload or one call of a batch."""

    row: int = Field(description="1-based line (CDR) or position (call batch).")
    status: Literal["accepted", "duplicate", "rejected"]
    call_id: str | None = None
    event_ids: list[str] = Field(default_factory=list)
    field: str | None = None
    problem: str | None = None


class BatchReport(BaseModel):
    rows: int
    accepted: int
    duplicate: int
    rejected: int
    results: list[RecordResult] = Field(description="One result a row, in row order.")
    omitted: int = Field(
        default=0,
        description="Rows counted above but not in results: a CDR upload lists only its first "
        "PHONE_CDR_REPORT_ROWS rows.",
    )

    @classmethod
    def of(cls, results: list[RecordResult]) -> BatchReport:
        def count(status: str) -> int:
            return sum(1 for r in results if r.status == status)

        return cls(
            rows=len(results),
            accepted=count("accepted"),
            duplicate=count("duplicate"),
            rejected=count("rejected"),
            results=results,
        )


class Accepted(BaseModel):
    event_ids: list[str]
