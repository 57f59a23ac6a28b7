"""Every query of the phone connector."""

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.phone.calls import CallState
from services.phone.models import call


async def lock_calls(session: AsyncSession, keys: list[str]) -> dict[str, CallState]:
    """The state of each call, locked until the transaction ends (new calls start empty)."""
    await session.execute(
        insert(call).values([{"call_key": key} for key in keys]).on_conflict_do_nothing()
    )
    rows = await session.execute(
        select(call.c.call_key, call.c.started, call.c.answered, call.c.ended)
        .where(call.c.call_key.in_(keys))
        .order_by(call.c.call_key)
        .with_for_update()
    )
    return {
        row.call_key: CallState(started=row.started, answered=row.answered, ended=row.ended)
        for row in rows
    }


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
