"""One call that gives a service its part of erasure and retention."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import PRIVACY_TOPIC, ErasureEvent
from shared.kafka import ConsumerLoop
from shared.privacy.retention import RetentionRule, retention_worker
from shared.privacy.settings import PrivacySettings
from shared.service import Runtime

__all__ = ["Eraser", "install"]

log = logging.getLogger(__name__)

#: Erases, inside the caller's transaction, what a service holds of one erasure event.
#: Running it twice for the same event must change nothing more (redelivery is harmless).
Eraser = Callable[[AsyncSession, ErasureEvent], Awaitable[None]]


def install(
    runtime: Runtime,
    *,
    settings: PrivacySettings,
    erase: Eraser | None = None,
    retention: Sequence[RetentionRule] = (),
) -> None:
    """Wire a service's erasure and retention: call it from its start-up hook.

    With ``erase``, a consumer of ``privacy.v1`` (group ``<service>-privacy`` unless
    ``settings.privacy_group`` names another) runs it for every erasure event, a batch in
    one transaction. With a rule of ``retention`` that keeps its data for a limited time,
    a sweeper runs every ``settings.retention_sweep_interval_s``.
    """
    if erase is not None:

        async def handle(events: Sequence[ErasureEvent]) -> None:
            async with runtime.database.transaction() as session:
                for event in events:
                    await erase(session, event)
            for event in events:
                log.info(
                    "erased",
                    extra={"erasure_id": str(event.erasure_id), "part": event.part},
                )

        runtime.add_worker(
            ConsumerLoop(
                settings=runtime.platform,
                group_id=settings.privacy_group or f"{runtime.name}-privacy",
                decoders={PRIVACY_TOPIC: ErasureEvent.from_json},
                handle=handle,
                producer=runtime.producer,
            )
        )
    if any(rule.days > 0 for rule in retention):
        runtime.add_worker(
            retention_worker(
                runtime.database,
                retention,
                name=f"{runtime.name}-retention",
                interval_s=settings.retention_sweep_interval_s,
                batch=settings.retention_batch,
            )
        )
