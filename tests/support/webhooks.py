"""Requests to the generic webhooks, signed as Standard Webhooks sign them."""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.clock import utc_now
from shared.signatures import standard_webhook_headers


def standard_signed(
    secret: str, body: bytes, *, webhook_id: str | None = None, at: datetime | None = None
) -> dict[str, str]:
    """JSON content type and the ``webhook-*`` headers signing ``body`` with ``secret``: a
    fresh ``webhook-id`` unless one is given, the timestamp of ``at`` (now by default)."""
    msg_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    return {
        "Content-Type": "application/json",
        **standard_webhook_headers(secret, msg_id, body, at or utc_now()),
    }
