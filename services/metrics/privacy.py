"""Erasure and retention in metrics: facts keep their numbers, their conversation keys (which
carry phone numbers, addresses and provider ids) become pseudonyms.

The pseudonym is the same keyed hash routing uses, so a conversation's later lifecycle steps
(which routing publishes under the pseudonym once erased) still fold into its fact, and a
customer's conversations still group.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pydantic import SecretStr
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import customers
from services.metrics.models import conversation_fact, erased_key
from services.metrics.repository import labels
from services.metrics.settings import MetricsSettings
from shared.clock import utc_now
from shared.events import ErasureEvent
from shared.privacy import (
    PSEUDONYM_PREFIX,
    Eraser,
    RetentionRule,
    is_pseudonym,
    pseudonym,
)

_key = conversation_fact.c.conversation_key


async def pseudonymize_keys(session: AsyncSession, keys: Sequence[str], secret: SecretStr) -> int:
    """Give each fact of ``keys`` its pseudonym as key; how many facts changed.

    A fact already under that pseudonym (the same conversation key erased before, and used
    again since) is not merged: the newer one gets a pseudonym of its own.
    """
    changed = 0
    for key in sorted(set(keys)):
        row = (
            await session.execute(
                select(conversation_fact.c.conversation_id, conversation_fact.c.opened_at)
                .where(_key == key)
                .with_for_update()
            )
        ).first()
        alias = pseudonym(secret, key)
        if row is None:
            await labels.rename_key(session, key, alias)
            continue
        if await session.scalar(select(_key).where(_key == alias)) is not None:
            alias = pseudonym(secret, f"{key}\x1f{row.conversation_id}\x1f{row.opened_at}")
        await session.execute(
            update(conversation_fact).where(_key == key).values(conversation_key=alias)
        )
        await labels.rename_key(session, key, alias)
        changed += 1
    return changed


#: The advisory lock between an erasure (exclusive) and the folding of events (shared): an
#: erasure waits for the batches that did not see it to commit (their facts are then there to
#: pseudonymize), and the batches after it see its pseudonyms.
ERASURE_LOCK = func.hashtext("metrics.erased_key")


class ErasedKeys:
    """Which conversation keys were erased, known by their pseudonyms only."""

    def __init__(self, secret: SecretStr) -> None:
        self._secret = secret

    async def remember(self, session: AsyncSession, keys: Sequence[str]) -> None:
        """Record the pseudonyms of erased keys (under the exclusive erasure lock)."""
        await session.execute(select(func.pg_advisory_xact_lock(ERASURE_LOCK)))
        aliases = sorted({pseudonym(self._secret, key) for key in keys if not is_pseudonym(key)})
        if aliases:
            at = utc_now()
            await session.execute(
                insert(erased_key)
                .values([{"pseudonym": alias, "erased_at": at} for alias in aliases])
                .on_conflict_do_nothing()
            )

    async def renamed(self, session: AsyncSession, keys: Sequence[str]) -> dict[str, str]:
        """Each erased key among ``keys`` and the pseudonym its fact goes by (under the shared
        erasure lock, held until the caller's transaction ends)."""
        aliases = {key: pseudonym(self._secret, key) for key in keys if not is_pseudonym(key)}
        if not aliases:
            return {}
        await session.execute(select(func.pg_advisory_xact_lock_shared(ERASURE_LOCK)))
        found = set(
            (
                await session.execute(
                    select(erased_key.c.pseudonym).where(
                        erased_key.c.pseudonym.in_(sorted(set(aliases.values())))
                    )
                )
            ).scalars()
        )
        return {key: alias for key, alias in aliases.items() if alias in found}


def eraser(settings: MetricsSettings) -> Eraser:
    """The erasure of metrics, under the deployment's pseudonym secret."""
    secret = settings.pseudonym_secret
    erased = ErasedKeys(secret)

    async def erase(session: AsyncSession, event: ErasureEvent) -> None:
        """Pseudonymize the keys of the erased conversations' facts, and remember them so
        that events still on their way fold into the same facts."""
        keys = event.conversation_keys
        await erased.remember(session, keys)
        await pseudonymize_keys(session, keys, secret)
        await customers.forget_contact(session, event.contact_id)

    return erase


def retention_rules(settings: MetricsSettings) -> list[RetentionRule]:
    secret = settings.pseudonym_secret

    async def sweep(session: AsyncSession, cutoff: datetime, limit: int) -> int:
        opened = func.coalesce(conversation_fact.c.opened_at, conversation_fact.c.first_inbound_at)
        keys = (
            await session.execute(
                select(_key).where(opened < cutoff, ~_key.startswith(PSEUDONYM_PREFIX)).limit(limit)
            )
        ).scalars()
        return await pseudonymize_keys(session, list(keys), secret)

    return [RetentionRule(kind="keys", days=settings.retention_keys_days, sweep=sweep)]
