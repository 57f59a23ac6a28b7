"""The SQL of conversations' labels: keeping the latest label set of each conversation, and
the facts a label filter reads."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, delete, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.facts import ConversationFact
from services.metrics.models import conversation_fact, conversation_label, conversation_label_set

cf = conversation_fact
cl = conversation_label
cls_ = conversation_label_set

#: A fact's contributions all lie at one of these times; a fact whose earliest and latest lie
#: outside a range (by more than a bucket) contributes nothing to it.
_TIMES = [c for c in cf.c if c.name.endswith("_at")]
_SLACK = timedelta(days=1)


async def take_sets(
    session: AsyncSession, latest: Mapping[str, tuple[datetime, uuid.UUID, Sequence[str]]]
) -> int:
    """Make each key's labels its set ``(occurred_at, event_id, labels)`` unless the key
    already has a later set (by occurred_at, then event id); how many keys changed."""
    changed = 0
    for key in sorted(latest):
        at, event_id, labels = latest[key]
        statement = upsert(cls_).values(conversation_key=key, occurred_at=at, event_id=event_id)
        newer = tuple_(cls_.c.occurred_at, cls_.c.event_id) < tuple_(
            statement.excluded.occurred_at, statement.excluded.event_id
        )
        taken = await session.scalar(
            statement.on_conflict_do_update(
                constraint=cls_.primary_key,
                set_={"occurred_at": statement.excluded.occurred_at, "event_id": event_id},
                where=newer,
            ).returning(cls_.c.conversation_key)
        )
        if taken is None:
            continue
        changed += 1
        await session.execute(delete(cl).where(cl.c.conversation_key == key))
        if labels:
            await session.execute(
                insert(cl),
                [{"conversation_key": key, "label": name, "labeled_at": at} for name in labels],
            )
    return changed


async def rename_key(session: AsyncSession, key: str, alias: str) -> None:
    """File a conversation's labels under its pseudonym (an erasure); if the pseudonym has
    labels already, those stay and the erased key's go."""
    if await session.scalar(select(cls_.c.conversation_key).where(cls_.c.conversation_key == key)):
        taken = await session.scalar(
            select(cls_.c.conversation_key).where(cls_.c.conversation_key == alias)
        )
        for table in (cl, cls_):
            where = table.c.conversation_key == key
            if taken:
                await session.execute(delete(table).where(where))
            else:
                await session.execute(update(table).where(where).values(conversation_key=alias))


def labeled(labels: Sequence[str]) -> ColumnElement[bool]:
    """The facts of conversations carrying any of ``labels``."""
    return cf.c.conversation_key.in_(
        select(cl.c.conversation_key).where(cl.c.label.in_(sorted(set(labels))))
    )


def labels_of_fact() -> ScalarSelect[Any]:
    """The labels of the fact's conversation, as an array (NULL: none)."""
    return (
        select(func.array_agg(cl.c.label))
        .where(cl.c.conversation_key == cf.c.conversation_key)
        .correlate(cf)
        .scalar_subquery()
    )


def _near(start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    return [
        func.greatest(*_TIMES) >= start - _SLACK,
        func.least(*_TIMES) < end + _SLACK,
    ]


async def facts_labeled(
    session: AsyncSession, *, labels: Sequence[str] | None, start: datetime, end: datetime
) -> list[tuple[ConversationFact, list[str]]]:
    """The facts that may contribute to ``[start, end)``, each with its labels: those of
    conversations carrying any of ``labels``, or (None) every labeled conversation."""
    conditions = _near(start, end)
    if labels is not None:
        conditions.append(labeled(labels))
    else:
        conditions.append(cf.c.conversation_key.in_(select(cl.c.conversation_key)))
    rows = await session.execute(
        select(cf, labels_of_fact().label("labels"))
        .where(*conditions)
        .order_by(cf.c.conversation_key)
    )
    return [
        (ConversationFact.from_row(row._mapping), sorted(row._mapping["labels"] or []))
        for row in rows
    ]
