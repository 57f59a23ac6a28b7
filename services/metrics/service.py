"""Metrics' logic: facts from events, incremental buckets, rebuilds and KPI reports."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics import activity, customers
from services.metrics.contributions import Deltas, Thresholds, add_conversation, bucket_start
from services.metrics.facts import ConversationFact, apply_interaction, apply_routing
from services.metrics.models import processed_event
from services.metrics.privacy import ErasedKeys
from services.metrics.repository import labels, writes
from services.metrics.schemas import RebuildResult
from services.metrics.settings import MetricsSettings
from shared.db import Database, claim_events
from shared.events import (
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    MessageStatus,
    RoutingEvent,
)

#: Interaction types that count in volume.
VOLUME_TYPES = (EventType.MESSAGE_RECEIVED, EventType.MESSAGE_SENT, EventType.CALL_STARTED)
#: The measure the connector's own outcome of an agent's reply counts in (``status_of`` set):
#: exactly one per reply, sent or failed.
OUTCOME_MEASURES = {MessageStatus.SENT: "reply_sent", MessageStatus.FAILED: "reply_failed"}
#: The measure a provider's receipt counts in (no ``status_of``). A receipt's "sent" repeats
#: the connector's outcome (WhatsApp reports it too) and is not counted again; its "failed"
#: is a reply the provider took and could not deliver.
RECEIPT_MEASURES = {
    MessageStatus.DELIVERED: "reply_delivered",
    MessageStatus.READ: "reply_read",
    MessageStatus.FAILED: "reply_undelivered",
}


def thresholds_of(settings: MetricsSettings) -> Thresholds:
    return Thresholds(
        service_level_ms=settings.service_level_ms(),
        short_abandon_ms=round(settings.short_abandon_s * 1000),
    )


async def record_events(
    database: Database,
    events: Sequence[Any],
    *,
    thresholds: Thresholds,
    erased: ErasedKeys | None = None,
) -> None:
    """Fold a batch into the facts and the buckets in one transaction; skip redeliveries.

    With ``erased``, events of an erased conversation key fold into its pseudonymized fact.
    """
    async with database.transaction() as session:
        fresh = await claim_events(session, processed_event, (e.event_id for e in events))
        seen = set()
        todo = []
        for event in events:
            if event.event_id in fresh and event.event_id not in seen:
                seen.add(event.event_id)
                todo.append(event)
        if not todo:
            return
        deltas = Deltas()
        await _fold_conversations(session, todo, thresholds, deltas, erased)
        await _record_labels(session, todo, erased)
        await _count_volume(session, todo, deltas)
        await customers.record_contact_steps(session, todo)
        for event in todo:
            if isinstance(event, RoutingEvent) and event.type is LifecycleStep.AGENT_STATUS_CHANGED:
                await _record_status_change(session, event, deltas)
            elif (
                isinstance(event, RoutingEvent)
                and event.type is LifecycleStep.AGENT_ACTIVITY_CHANGED
            ):
                await activity.record_change(session, event, deltas)
        await writes.add_to_buckets(session, deltas)


async def _fold_conversations(
    session: AsyncSession,
    events: Sequence[Any],
    thresholds: Thresholds,
    deltas: Deltas,
    erased: ErasedKeys | None,
) -> None:
    by_key: dict[str, list[Any]] = defaultdict(list)
    for event in events:
        if event.conversation_key is not None and not _is_label_set(event):
            by_key[event.conversation_key].append(event)
    if not by_key:
        return
    if erased is not None:
        for key, alias in (await erased.renamed(session, list(by_key))).items():
            by_key[alias].extend(by_key.pop(key))
    existing = await writes.lock_facts(session, list(by_key))
    changed: list[ConversationFact] = []
    for key, conversation_events in by_key.items():
        before = existing.get(key)
        fact = before.copy() if before is not None else ConversationFact(conversation_key=key)
        for event in conversation_events:
            if isinstance(event, InteractionEvent):
                apply_interaction(fact, event)
            else:
                apply_routing(fact, event)
        if fact == before:
            continue
        if before is not None:
            add_conversation(deltas, before, thresholds, -1)
        add_conversation(deltas, fact, thresholds, 1)
        changed.append(fact)
    await writes.save_facts(session, changed)


def _is_label_set(event: Any) -> bool:
    return isinstance(event, RoutingEvent) and event.type is LifecycleStep.LABELED


async def _record_labels(
    session: AsyncSession, events: Sequence[Any], erased: ErasedKeys | None
) -> None:
    """Keep each conversation's latest label set (by occurred_at, then event id): a set is
    the whole of them, so the latest one is the truth whatever order they came in."""
    latest: dict[str, tuple[datetime, uuid.UUID, list[str]]] = {}
    for event in events:
        if not _is_label_set(event) or event.conversation_key is None:
            continue
        candidate = (event.occurred_at, event.event_id, sorted(set(event.labels or [])))
        current = latest.get(event.conversation_key)
        if current is None or candidate[:2] > current[:2]:
            latest[event.conversation_key] = candidate
    if not latest:
        return
    if erased is not None:
        for key, alias in (await erased.renamed(session, list(latest))).items():
            moved = latest.pop(key)
            if alias not in latest or moved[:2] > latest[alias][:2]:
                latest[alias] = moved
    await labels.take_sets(session, latest)


def _delivery_measure(event: InteractionEvent) -> str | None:
    # Statuses of bots' messages and of anything inbound are not our agents' replies.
    if event.automated or event.direction is not Direction.OUTBOUND or event.content is None:
        return None
    status = event.content.status
    if status is None:
        return None
    measures = OUTCOME_MEASURES if event.status_of is not None else RECEIPT_MEASURES
    return measures.get(status)


def _volume_measure(event: InteractionEvent) -> str | None:
    if event.type is EventType.MESSAGE_STATUS:
        return _delivery_measure(event)
    if event.type not in VOLUME_TYPES:
        return None
    if event.automated:
        return "automated"
    return "inbound" if event.direction is Direction.INBOUND else "outbound"


async def _count_volume(session: AsyncSession, events: Sequence[Any], deltas: Deltas) -> None:
    counts: dict[tuple[datetime, str, str, str, str], int] = defaultdict(int)
    for event in events:
        if not isinstance(event, InteractionEvent):
            continue
        measure = _volume_measure(event)
        if measure is None:
            continue
        agent = event.agent_id or "" if event.direction is Direction.OUTBOUND else ""
        minute = bucket_start(event.occurred_at, "minute")
        counts[(minute, event.channel.value, event.provider, agent, measure)] += 1
        deltas.add_point(
            event.occurred_at,
            measure,
            channel=event.channel.value,
            provider=event.provider,
            agent=agent,
        )
    await writes.add_volume(
        session,
        [
            {
                "bucket_start": minute,
                "channel": channel,
                "provider": provider,
                "agent_id": agent,
                "measure": measure,
                "events": events_in_minute,
            }
            for (minute, channel, provider, agent, measure), events_in_minute in sorted(
                counts.items()
            )
        ],
    )


def _add_status_interval(
    deltas: Deltas, start: datetime, end: datetime, status: str, *, agent: str, sign: int = 1
) -> None:
    # Offline time feeds no KPI; skipping it keeps nights and weekends out of the buckets.
    if status != "offline":
        deltas.add_interval(start, end, f"status_{status}", agent=agent, sign=sign)


async def _record_status_change(session: AsyncSession, event: RoutingEvent, deltas: Deltas) -> None:
    """Insert the change between its neighbours: the interval before it is cut in two."""
    if event.agent_id is None or event.agent_status is None:
        return
    agent, at = event.agent_id, event.occurred_at
    inserted = await writes.insert_status_change(
        session, agent_id=agent, changed_at=at, status=event.agent_status
    )
    if not inserted:
        return
    before, after = await writes.status_neighbours(session, agent_id=agent, changed_at=at)
    if before is not None:
        if after is not None:
            _add_status_interval(
                deltas, before.changed_at, after.changed_at, before.status, agent=agent, sign=-1
            )
        _add_status_interval(deltas, before.changed_at, at, before.status, agent=agent)
    if after is not None:
        _add_status_interval(deltas, at, after.changed_at, event.agent_status, agent=agent)


async def rebuild(database: Database, *, thresholds: Thresholds) -> RebuildResult:
    """Recompute every bucket from the facts alone, in one transaction."""
    async with database.transaction() as session:
        await writes.lock_buckets_for_rebuild(session)
        deltas = Deltas()
        conversations = volume_minutes = status_changes = 0
        async for fact in writes.all_facts(session):
            conversations += 1
            add_conversation(deltas, fact, thresholds, 1)
        async for row in writes.all_volume(session):
            volume_minutes += 1
            deltas.add_point(
                row.bucket_start,
                row.measure,
                channel=row.channel,
                provider=row.provider,
                agent=row.agent_id,
                n=row.events,
            )
        previous: Any = None
        async for row in writes.all_status_changes(session):
            status_changes += 1
            if previous is not None and previous.agent_id == row.agent_id:
                _add_status_interval(
                    deltas, previous.changed_at, row.changed_at, previous.status, agent=row.agent_id
                )
            previous = row
        activity_changes = await activity.rebuild(session, deltas)
        bucket_rows = await writes.add_to_buckets(session, deltas)
    return RebuildResult(
        conversations=conversations,
        volume_minutes=volume_minutes,
        status_changes=status_changes,
        activity_changes=activity_changes,
        bucket_rows=bucket_rows,
    )
