"""What a CRM sends: customer events as JSON (webhook) or CSV rows (import), and the answers."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from shared.errors import BadRequest, problems_of
from shared.events import CustomerEventType
from shared.events.interaction import UtcDatetime
from shared.json import json_document

#: A source name, as the generic webhooks' keys name them.
SOURCE_PATTERN = r"^[a-z0-9_\-]{1,40}$"
#: E.164: a plus, then up to 15 digits, the first not 0.
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
#: An address with one @, something on each side, a dot in the domain, no spaces.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: Events one webhook request carries at most.
MAX_EVENTS = 100
#: Rows one CSV import takes at most.
MAX_ROWS = 10_000
#: The CSV's columns, in the documented order; id, type and occurred_at are required.
CSV_COLUMNS = (
    "id",
    "type",
    "occurred_at",
    "email",
    "phone",
    "external_id",
    "order_id",
    "amount",
    "currency",
    "reason",
)
REQUIRED_COLUMNS = frozenset({"id", "type", "occurred_at"})


def _event_type(value: Any) -> Any:
    # "activated" and "customer.activated" name the same type.
    if isinstance(value, str) and value and not value.startswith("customer."):
        return f"customer.{value}"
    return value


def _email(value: str) -> str:
    address = value.strip().lower()
    if len(address) > 254 or not EMAIL.fullmatch(address):
        raise ValueError("not an email address")
    return address


def _phone(value: str) -> str:
    number = value.strip()
    if not E164.fullmatch(number):
        raise ValueError("not an E.164 number (+ and 7 to 15 digits)")
    return number


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


class CustomerEventIn(BaseModel):
    """One customer event as a CRM or billing system sends it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=256, description="The event's id in the source.")
    source: str = Field(
        pattern=SOURCE_PATTERN,
        description="The system the event comes from; the signing key must name it.",
    )
    type: Annotated[CustomerEventType, BeforeValidator(_event_type)] = Field(
        description="activated, order_placed or churned (or customer.activated...)."
    )
    occurred_at: UtcDatetime = Field(description="When it happened, with a time zone.")
    email: Annotated[str, AfterValidator(_email)] | None = Field(default=None, max_length=254)
    phone: Annotated[str, AfterValidator(_phone)] | None = Field(default=None, max_length=16)
    external_id: str | None = Field(
        default=None, min_length=1, max_length=256, description="The customer's id in the source."
    )
    order_id: str | None = Field(default=None, min_length=1, max_length=256)
    amount: Decimal | None = Field(
        default=None, ge=0, max_digits=18, decimal_places=6, allow_inf_nan=False
    )
    currency: Annotated[str, BeforeValidator(_upper)] | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 4217 code, such as EUR."
    )
    reason: str | None = Field(default=None, min_length=1, max_length=1000)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        # Postgres cannot store a NUL character: refuse it here, with the field's name.
        if isinstance(data, dict):
            for name, value in data.items():
                if isinstance(value, str) and "\x00" in value:
                    raise ValueError(f"{name} holds a NUL character")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> CustomerEventIn:
        if self.email is None and self.phone is None and self.external_id is None:
            raise ValueError("name the customer: email, phone or external_id")
        ordered = self.type is CustomerEventType.ORDER_PLACED
        if ordered and (self.amount is None or self.currency is None):
            raise ValueError("an order_placed event needs amount and currency")
        if not ordered and (
            self.amount is not None or self.currency is not None or self.order_id is not None
        ):
            raise ValueError("order_id, amount and currency belong to order_placed events")
        if self.reason is not None and self.type is not CustomerEventType.CHURNED:
            raise ValueError("reason belongs to churned events")
        return self


def webhook_events(body: bytes) -> list[CustomerEventIn]:
    """The events of a webhook body: one event object, or a JSON array of them.

    Raises pydantic's ``ValidationError`` for anything else, and :class:`BadRequest`
    for a body that is not JSON.
    """
    document = json_document(body)
    if isinstance(document, list):
        if not 1 <= len(document) <= MAX_EVENTS:
            raise BadRequest(f"send 1 to {MAX_EVENTS} events in one request")
        return [CustomerEventIn.model_validate(item) for item in document]
    return [CustomerEventIn.model_validate(document)]


class CsvRow(BaseModel):
    """A row of the import: its line, and its event or why it is refused."""

    model_config = ConfigDict(frozen=True)

    line: int
    id: str | None
    event: CustomerEventIn | None
    problem: str | None


def csv_rows(text: str, *, source: str) -> list[CsvRow]:
    """The rows of a CSV import, each parsed or with its problem; :class:`BadRequest` when
    the file itself is unusable (no header, unknown or missing columns, too many rows)."""
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames
        if not header:
            raise BadRequest("the CSV is empty: its first line names the columns")
        columns = [c.strip() for c in header]
        unknown = sorted(set(columns) - set(CSV_COLUMNS))
        missing = sorted(REQUIRED_COLUMNS - set(columns))
        if unknown or missing or len(set(columns)) != len(columns):
            raise BadRequest(
                "the CSV's columns are not as documented",
                detail={"unknown": unknown, "missing": missing, "allowed": list(CSV_COLUMNS)},
            )
        reader.fieldnames = columns
        rows: list[CsvRow] = []
        for record in reader:
            if len(rows) >= MAX_ROWS:
                raise BadRequest(f"import at most {MAX_ROWS} rows at once")
            rows.append(_row(record, line=reader.line_num, source=source))
    except csv.Error as exc:
        raise BadRequest(f"the CSV cannot be read at line {reader.line_num}: {exc}") from None
    return rows


def _row(record: dict[str | Any, Any], *, line: int, source: str) -> CsvRow:
    extra = record.get(None)
    identifier = (record.get("id") or "").strip() or None
    if extra:
        return CsvRow(line=line, id=identifier, event=None, problem="more fields than columns")
    values = {k: v for k, v in record.items() if isinstance(v, str) and v.strip()}
    try:
        event = CustomerEventIn.model_validate({**values, "source": source})
    except ValidationError as exc:
        problems = problems_of(exc.errors(include_url=False))
        text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return CsvRow(line=line, id=identifier, event=None, problem=text)
    return CsvRow(line=line, id=identifier, event=event, problem=None)


class CustomerEventOut(BaseModel):
    """What became of one event: published, a duplicate of one published before, or refused."""

    id: str | None = Field(description="The event's id in the source.")
    status: Literal["accepted", "duplicate", "refused"]
    event_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    reason: str | None = None
    line: int | None = Field(default=None, description="The CSV line (the header is line 1).")


class WebhookAccepted(BaseModel):
    """The webhook's answer: every event of the request, in order."""

    events: list[CustomerEventOut]
    duplicate: bool = Field(description="The webhook-id was handled before: nothing new.")


class ImportReport(BaseModel):
    """The import's answer: a line per row, and the counts."""

    source: str
    accepted: int
    duplicates: int
    refused: int
    rows: list[CustomerEventOut]
    received_at: datetime
