"""Signing like the providers do, and reading back what the connector published."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.events import (
    INTERACTIONS_TOPIC,
    Channel,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)
from tests.support.kafka import read_topic, values, with_field


def meta_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def x_signature(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


async def post_meta(url: str, secret: str, payload: dict[str, Any]) -> httpx.Response:
    body = encode(payload)
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.post(
            "/webhooks/meta",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": meta_signature(secret, body),
            },
        )


async def post_x(url: str, secret: str, payload: dict[str, Any]) -> httpx.Response:
    body = encode(payload)
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.post(
            "/webhooks/x",
            content=body,
            headers={
                "Content-Type": "application/json",
                "x-twitter-webhooks-signature": x_signature(secret, body),
            },
        )


async def post_telegram(url: str, token: str, payload: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as client:
        return await client.post(
            "/webhooks/telegram",
            content=encode(payload),
            headers={"X-Telegram-Bot-Api-Secret-Token": token},
        )


async def published(
    broker: str, event_ids: list[str], *, wait_for: list[str] | None = None
) -> dict[str, InteractionEvent]:
    """The events with these ids on ``interactions.v1``, by id.

    Reads until every id of ``wait_for`` (by default all of ``event_ids``) arrived.
    """
    wanted = set(event_ids if wait_for is None else wait_for)
    records = await read_topic(broker, INTERACTIONS_TOPIC, until=with_field("event_id", wanted))
    return {
        str(event.event_id): event
        for event in (InteractionEvent.from_json(r.value) for r in records)
        if str(event.event_id) in event_ids
    }


async def event_ids_on(broker: str, conversation_keys: set[str], *, settle: float) -> list[str]:
    """Every event id (duplicates included) published under these conversation keys."""
    wanted = {key.encode() for key in conversation_keys}
    records = await read_topic(
        broker,
        INTERACTIONS_TOPIC,
        until=lambda found: any(r.key in wanted for r in found),
        settle=settle,
    )
    return [v["event_id"] for r, v in zip(records, values(records), strict=True) if r.key in wanted]


def without_arrival(event: InteractionEvent) -> dict[str, Any]:
    """The event minus ``received_at``, the one field the connector sets from its clock."""
    return event.model_dump(exclude={"received_at"})


def assert_published_as(
    found: dict[str, InteractionEvent], expected: list[InteractionEvent], *, since: datetime
) -> None:
    """Every expected event was published exactly as expected, field by field."""
    assert set(found) == {str(e.event_id) for e in expected}
    for event in expected:
        actual = found[str(event.event_id)]
        assert without_arrival(actual) == without_arrival(event)
        assert actual.received_at >= since


def social_event(
    provider: str,
    dedup_key: str,
    *,
    type: EventType = EventType.MESSAGE_RECEIVED,
    direction: Direction = Direction.INBOUND,
    **fields: Any,
) -> InteractionEvent:
    """The event the connector should publish; ``received_at`` is a placeholder."""
    return InteractionEvent(
        event_id=event_id_for(provider, dedup_key, type),
        type=type,
        channel=Channel.SOCIAL,
        provider=provider,
        direction=direction,
        received_at=datetime.now(UTC),
        **fields,
    )


async def wait_until_ready(url: str, timeout: float = 20.0) -> None:
    """Wait for ``/readyz``: the producer connects in the background after startup."""
    async with httpx.AsyncClient(base_url=url) as client:
        async with asyncio.timeout(timeout):
            while (await client.get("/readyz")).status_code != 200:
                await asyncio.sleep(0.05)
