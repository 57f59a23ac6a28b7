"""Every query of the phone connector."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from services.phone.calls import CallState, RedirectState
from services.phone.models import call, call_redirect, outbox
from shared.events import InteractionEvent
from shared.kafka import interaction_record
from shared.outbox import enqueue


def _lock_calls_statement() -> ReturningInsert[Any]:
    # The keys as one array parameter: the statement is the same for any number of calls,
    # so SQLAlchemy compiles it once and asyncpg prepares it once per connection.
    key = func.unnest(bindparam("keys", type_=ARRAY(call.c.call_key.type))).column_valued()
    statement = insert(call).from_select([call.c.call_key], select(key).order_by(key))
    return statement.on_conflict_do_update(
        index_elements=[call.c.call_key], set_={"started": call.c.started}
    ).returning(
        call.c.call_key,
        call.c.started,
        call.c.answered,
        call.c.ended,
        # A row this statement inserted has no xmax: nobody updated or locked it before.
        literal_column("xmax = 0").label("inserted"),
    )


_LOCK_CALLS = _lock_calls_statement()


async def lock_calls(
    session: AsyncSession, keys: list[str]
) -> tuple[dict[str, CallState], set[str]]:
    """The state of each call, locked until the transaction ends, and the calls new here.

    One statement: inserting a new call locks it, and the ``DO UPDATE`` that changes
    nothing locks an existing one and returns its latest state, even a state committed
    while the statement waited for the lock. ``keys`` come sorted, so two transactions
    lock shared calls in the same order (the statement sorts them too).
    """
    states: dict[str, CallState] = {}
    new: set[str] = set()
    for row in await session.execute(_LOCK_CALLS, {"keys": keys}):
        states[row.call_key] = CallState(
            started=row.started, answered=row.answered, ended=row.ended
        )
        if row.inserted:
            new.add(row.call_key)
    return states, new


async def save_calls(
    session: AsyncSession, states: dict[str, CallState], sequences: dict[str, int]
) -> None:
    """Store what was published of each call and the highest callback sequence seen."""
    if states:
        await _save_states(session, states)
    if sequences:
        await session.execute(
            update(call)
            .where(call.c.call_key == bindparam("key"))
            .values(last_sequence=func.greatest(call.c.last_sequence, bindparam("sequence"))),
            [{"key": key, "sequence": seq} for key, seq in sequences.items()],
        )


async def _save_states(session: AsyncSession, states: dict[str, CallState]) -> None:
    statement = (
        update(call)
        .where(call.c.call_key == bindparam("key"))
        .values(
            started=bindparam("started"),
            answered=bindparam("answered"),
            ended=bindparam("ended"),
        )
    )
    await session.execute(
        statement,
        [
            {"key": key, "started": s.started, "answered": s.answered, "ended": s.ended}
            for key, s in states.items()
        ],
    )


async def waiting_in_outbox(session: AsyncSession, keys: list[str]) -> set[str]:
    """The calls among ``keys`` that have events in the outbox the broker has not taken yet."""
    if not keys:
        return set()
    rows = await session.execute(
        select(outbox.c.key).where(outbox.c.key.in_([key.encode() for key in keys])).distinct()
    )
    return {key.decode() for key in rows.scalars()}


async def keep_in_outbox(session: AsyncSession, events: Sequence[InteractionEvent]) -> None:
    """Write events to the outbox, relayed to Kafka in this order once the transaction commits."""
    await enqueue(session, outbox, [interaction_record(event) for event in events])


async def call_ended(session: AsyncSession, key: str) -> bool | None:
    """Whether the call has ended; None for a call never reported."""
    ended: bool | None = await session.scalar(select(call.c.ended).where(call.c.call_key == key))
    return ended


async def claim_redirect(
    session: AsyncSession,
    *,
    accepted_event_id: uuid.UUID,
    call_key: str,
    agent_address: str,
    state: RedirectState,
    detail: str | None,
    at: datetime,
) -> bool:
    """Record what is done about an accepted step; False when it was recorded before."""
    statement = (
        insert(call_redirect)
        .values(
            accepted_event_id=accepted_event_id,
            call_key=call_key,
            agent_address=agent_address,
            state=state,
            detail=detail,
            created_at=at,
            settled_at=None if state is RedirectState.REDIRECTING else at,
        )
        .on_conflict_do_nothing()
        .returning(call_redirect.c.accepted_event_id)
    )
    return (await session.execute(statement)).first() is not None


async def settle_redirect(
    session: AsyncSession,
    accepted_event_id: uuid.UUID,
    *,
    state: RedirectState,
    detail: str | None,
    at: datetime,
) -> None:
    """Record how redirecting a call ended."""
    await session.execute(
        update(call_redirect)
        .where(call_redirect.c.accepted_event_id == accepted_event_id)
        .values(state=state, detail=detail, settled_at=at)
    )
