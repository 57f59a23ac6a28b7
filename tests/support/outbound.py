"""What the connectors' outbound tests share: the statuses published about a reply, and the
reply's delivery row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select

from shared.db import Database
from shared.events import INTERACTIONS_TOPIC, InteractionEvent
from tests.support.kafka import read_topic, values


async def statuses_of(
    broker: str,
    sent: InteractionEvent,
    *,
    status: str | None = None,
    settle: float = 0.0,
    timeout: float = 40.0,
) -> list[dict[str, Any]]:
    """The message.status events about ``sent`` (of ``status`` if given), once there is one.

    With ``settle``, read that many seconds more, to catch a second delivery's status.
    """

    def about(records: list[Any]) -> list[dict[str, Any]]:
        return [
            v
            for v in values(records)
            if v["type"] == "message.status"
            and v.get("status_of") == str(sent.event_id)
            and (status is None or v["content"]["status"] == status)
        ]

    records = await read_topic(
        broker, INTERACTIONS_TOPIC, until=lambda r: bool(about(r)), timeout=timeout, settle=settle
    )
    return about(records)


async def delivery_row(database: Database, table: Table, sent: InteractionEvent) -> Any:
    """The connector's delivery row of ``sent`` (``table`` is the connector's delivery table)."""
    async with database.transaction() as session:
        return (await session.execute(select(table).where(table.c.event_id == sent.event_id))).one()
