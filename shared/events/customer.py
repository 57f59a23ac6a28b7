"""Customer lifecycle events from a CRM or billing system, published by routing on
``customers.v1``."""

from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.interaction import UtcDatetime, event_id_for

__all__ = ["CUSTOMERS_TOPIC", "CustomerEvent", "CustomerEventType", "customer_event_id"]

CUSTOMERS_TOPIC = "customers.v1"


class CustomerEventType(StrEnum):
    ACTIVATED = "customer.activated"
    ORDER_PLACED = "customer.order_placed"
    CHURNED = "customer.churned"


def customer_event_id(source: str, source_event_id: str, type: CustomerEventType) -> uuid.UUID:
    """Return the deterministic id of a customer event: the same for a retried webhook or a
    re-imported CSV row, which carry the same source and the source's own event id."""
    return event_id_for(source, source_event_id, type.value)


class CustomerEvent(BaseModel):
    """Something that happened to a customer in a CRM or billing system, joined to the
    contact holding the customer's verified identity. Keyed by ``contact_id`` on Kafka."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    schema_version: int = Field(default=1, ge=1, le=1)
    type: CustomerEventType
    occurred_at: UtcDatetime = Field(description="When it happened in the source system.")
    contact_id: uuid.UUID
    source: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9_\-]{1,40}$",
        description="The system the event came from: the webhook key's source or the "
        "import's source name.",
    )
    external_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="The customer's id in the source system, when given (personal data: "
        "erased with the contact).",
    )
    order_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="On customer.order_placed: the order's id in the source system, if given.",
    )
    amount: Decimal | None = Field(
        default=None, ge=0, description="On customer.order_placed: the order's value."
    )
    currency: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="On customer.order_placed: ISO 4217 code of the amount's currency.",
    )
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="On customer.churned: why, as the source system put it, if given.",
    )

    @model_validator(mode="after")
    def _fields_of_type(self) -> CustomerEvent:
        ordered = self.type is CustomerEventType.ORDER_PLACED
        if ordered and (self.amount is None or self.currency is None):
            raise ValueError("customer.order_placed needs amount and currency")
        if not ordered and (
            self.amount is not None or self.currency is not None or self.order_id is not None
        ):
            raise ValueError("order_id, amount and currency belong to customer.order_placed")
        if self.reason is not None and self.type is not CustomerEventType.CHURNED:
            raise ValueError("reason belongs to customer.churned")
        return self

    def to_json(self) -> bytes:
        return self.model_dump_json(exclude_none=True).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> CustomerEvent:
        return cls.model_validate_json(data)
