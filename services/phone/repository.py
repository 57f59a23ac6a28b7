"""Every query of the phone connector."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from services.phone.calls import CallState, RedirectKind, RedirectState
from services.phone.models import call, call_redirect, outbox
from shared.events import Customer, InteractionEvent
from shared.kafka import interaction_record
from shared.outbox import enqueue

#: The longest customer id ``phone.call`` keeps.
CUSTOMER_ID_MAX = 300


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
        call.c.voicemail,
        call.c.recorded,
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
            started=row.started,
            answered=row.answered,
            ended=row.ended,
            voicemail=row.voicemail,
            recorded=row.recorded,
        )
        if row.inserted:
            new.add(row.call_key)
    return states, new


async def lock_call(session: AsyncSession, key: str) -> tuple[CallState, Customer | None] | None:
    """A call's state and customer, locked until the transaction ends; None when never
    reported."""
    row = (
        await session.execute(
            select(
                call.c.started,
                call.c.answered,
                call.c.ended,
                call.c.voicemail,
                call.c.recorded,
                call.c.customer_id,
                call.c.customer_kind,
            )
            .where(call.c.call_key == key)
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    state = CallState(
        started=row.started,
        answered=row.answered,
        ended=row.ended,
        voicemail=row.voicemail,
        recorded=row.recorded,
    )
    customer = None
    if row.customer_id is not None:
        customer = Customer(id=row.customer_id, kind=row.customer_kind or "phone")
    return state, customer


async def save_calls(
    session: AsyncSession,
    states: dict[str, CallState],
    sequences: dict[str, int],
    customers: dict[str, Customer] | None = None,
) -> None:
    """Store what was published of each call, its customer (the first one named) and the
    highest callback sequence seen."""
    if states:
        await _save_states(session, states, customers or {})
    if sequences:
        await session.execute(
            update(call)
            .where(call.c.call_key == bindparam("key"))
            .values(last_sequence=func.greatest(call.c.last_sequence, bindparam("sequence"))),
            [{"key": key, "sequence": seq} for key, seq in sequences.items()],
        )


async def _save_states(
    session: AsyncSession, states: dict[str, CallState], customers: dict[str, Customer]
) -> None:
    statement = (
        update(call)
        .where(call.c.call_key == bindparam("key"))
        .values(
            started=bindparam("started"),
            answered=bindparam("answered"),
            ended=bindparam("ended"),
            recorded=bindparam("recorded"),
            customer_id=func.coalesce(call.c.customer_id, bindparam("customer_id", type_=String)),
            customer_kind=func.coalesce(
                call.c.customer_kind, bindparam("customer_kind", type_=String)
            ),
        )
    )
    rows = []
    for key, s in states.items():
        customer = customers.get(key)
        if customer is not None and len(customer.id) > CUSTOMER_ID_MAX:
            customer = None  # not kept rather than kept cut: its recording finds no one
        rows.append(
            {
                "key": key,
                "started": s.started,
                "answered": s.answered,
                "ended": s.ended,
                "recorded": s.recorded,
                "customer_id": customer.id if customer else None,
                "customer_kind": customer.kind if customer else None,
            }
        )
    await session.execute(statement, rows)


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
    agent_address: str | None,
    state: RedirectState,
    detail: str | None,
    at: datetime,
    kind: RedirectKind = RedirectKind.AGENT,
) -> bool:
    """Record what is done about an accepted (or out-of-hours) step; False when it was
    recorded before."""
    statement = (
        insert(call_redirect)
        .values(
            accepted_event_id=accepted_event_id,
            call_key=call_key,
            kind=kind,
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


async def set_voicemail(session: AsyncSession, key: str, *, voicemail: bool) -> None:
    """Mark the call as sent to voicemail (or no longer: its redirect failed)."""
    await session.execute(update(call).where(call.c.call_key == key).values(voicemail=voicemail))
