"""Generic webhook deliveries already handled, by ``webhook-id``.

Standard Webhooks senders keep a delivery's ``webhook-id`` on every retry. A delivery
seen before with the same body is a retry whose answer was lost, or a captured request
replayed within the timestamp window: either way it is answered without being handled
again. The same id with another body is refused (409): the id names one message.

This is a saving, not what makes a delivery count once: the event ids do that, whoever
publishes them twice. So the ids are looked up before and recorded after the delivery
is handled, by statements that each commit on their own (no transaction's BEGIN and
COMMIT on every webhook), and a Postgres that does not answer only costs the saving: the
generic chat webhook keeps publishing through a database outage, as it did before it
remembered ids.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError

from shared.db import Database
from shared.errors import Conflict
from shared.security import GenericDelivery

__all__ = ["WEBHOOK_ID_RETENTION", "handled_before", "remember_handled", "webhook_message_table"]

log = logging.getLogger(__name__)

#: How long a webhook-id is remembered: longer than senders retry (Standard Webhooks
#: implementations give up within about a day and a half).
WEBHOOK_ID_RETENTION = timedelta(days=3)


def webhook_message_table(metadata: MetaData) -> Table:
    """The table of handled webhook-ids, per signing key (each partner names its own ids)."""
    return Table(
        "webhook_message",
        metadata,
        Column("key_name", String(100), primary_key=True),
        Column("webhook_id", String(256), primary_key=True),
        Column("body_sha256", String(64), nullable=False),
        Column("seen_at", DateTime(timezone=True), nullable=False, index=True),
    )


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


async def handled_before(database: Database, table: Table, delivery: GenericDelivery) -> bool:
    """True when ``delivery`` was handled before; 409 when its webhook-id came with another
    body. False without an id (the legacy signature) or when Postgres does not answer."""
    if delivery.webhook_id is None:
        return False
    try:
        async with database.autocommit() as session:
            known = await session.scalar(
                select(table.c.body_sha256).where(
                    table.c.key_name == delivery.key.name,
                    table.c.webhook_id == delivery.webhook_id,
                )
            )
    except (DBAPIError, OSError) as exc:
        log.warning("webhook ids not readable (%s): the delivery is handled", type(exc).__name__)
        return False
    if known is None:
        return False
    if known != _digest(delivery.body):
        raise Conflict(
            "this webhook-id was already used for another body",
            detail={"webhook_id": delivery.webhook_id},
        )
    return True


async def remember_handled(
    database: Database, table: Table, delivery: GenericDelivery, at: datetime
) -> None:
    """Record ``delivery``'s webhook-id as handled, and forget ids past their retention."""
    if delivery.webhook_id is None:
        return
    try:
        async with database.autocommit() as session:
            await session.execute(
                insert(table)
                .values(
                    key_name=delivery.key.name,
                    webhook_id=delivery.webhook_id,
                    body_sha256=_digest(delivery.body),
                    seen_at=at,
                )
                .on_conflict_do_nothing(index_elements=[table.c.key_name, table.c.webhook_id])
            )
            await session.execute(delete(table).where(table.c.seen_at < at - WEBHOOK_ID_RETENTION))
    except (DBAPIError, OSError) as exc:
        log.warning("webhook id not recorded (%s): a retry is handled again", type(exc).__name__)
