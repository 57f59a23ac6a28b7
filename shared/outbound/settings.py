"""The outbound settings a connector's settings class inherits (under the connector's prefix)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, model_validator

__all__ = ["OutboundSettings"]


class OutboundSettings(BaseModel):
    """Mixed into a connector's settings: ``CHAT_OUTBOUND_GIVE_UP_S`` and so on."""

    outbound_give_up_s: float = Field(
        default=900,
        gt=0,
        description="A reply still failing this long after it was queued is marked failed.",
    )
    outbound_lease_s: float = Field(
        default=60,
        gt=0,
        description=(
            "How long one provider call may take; a delivery still sending after it is marked "
            "uncertain (its process stopped while the provider answered)."
        ),
    )
    outbound_batch: int = Field(default=50, ge=1, description="Deliveries claimed at a time.")
    outbound_poll_interval_s: float = Field(
        default=0.5, gt=0, description="How often due retries are looked for."
    )
    outbound_timeout_s: float = Field(default=10, gt=0, description="One provider call's timeout.")
    outbound_group: str | None = Field(
        default=None,
        description="Consumer group of the replies to deliver; default <service>-outbound.",
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_call(self) -> Self:
        # A lease shorter than a call would mark a delivery uncertain while it is being sent.
        if self.outbound_lease_s <= self.outbound_timeout_s:
            raise ValueError("OUTBOUND_LEASE_S must be longer than OUTBOUND_TIMEOUT_S")
        return self
