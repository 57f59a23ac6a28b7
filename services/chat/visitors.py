"""Website chat: visitors' sessions, their messages, agents' replies, and leaving."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

from aiokafka import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat import repository
from services.chat.hub import Hub
from shared.clock import utc_now
from shared.db import Database
from shared.errors import Conflict, NotFound
from shared.events import (
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    event_id_for,
)
from shared.kafka import EventProducer, publish_interactions
from shared.language import language_of

PROVIDER = "webchat"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def conversation_key(session_id: uuid.UUID) -> str:
    return f"{PROVIDER}:{session_id}"


def message_view(row: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the widget receives it."""
    return {
        "id": row["id"],
        "author": row["author"],
        "agent_id": row["agent_id"],
        "text": row["text"],
        "sent_at": row["sent_at"].isoformat(),
    }


async def open_session(
    database: Database,
    *,
    name: str | None,
    email: str | None,
    page_url: str | None,
    attributes: dict[str, str],
) -> tuple[uuid.UUID, str]:
    """A new session and the unguessable token that alone gives access to it."""
    session_id = uuid.uuid4()
    token = secrets.token_urlsafe(32)
    at = utc_now()
    async with database.transaction() as session:
        await repository.create_session(
            session,
            id=session_id,
            token_sha256=_digest(token),
            conversation_key=conversation_key(session_id),
            visitor_name=name,
            visitor_email=email.lower() if email else None,
            page_url=page_url,
            attributes=attributes,
            opened_at=at,
            last_activity_at=at,
            agent_replied=False,
        )
    return session_id, token


async def find_session(database: Database, token: str) -> dict[str, Any]:
    """The session of ``token``; 404 for any other token."""
    async with database.transaction() as session:
        found = await repository.session_by_token(session, _digest(token))
    if found is None:
        raise NotFound("no chat session has this token")
    return found


def _event(
    chat: dict[str, Any],
    kind: EventType,
    message_id: str,
    at: datetime,
    *,
    content: Content | None = None,
    meta: dict[str, str] | None = None,
) -> InteractionEvent:
    email = chat["visitor_email"]
    # What the site told about its visitor travels with each event, for routing and agents.
    provider_meta = {f"attribute.{name}": value for name, value in chat["attributes"].items()}
    if chat["page_url"]:
        provider_meta["page_url"] = chat["page_url"]
    return InteractionEvent(
        event_id=event_id_for(PROVIDER, message_id, kind),
        type=kind,
        channel=Channel.CHAT,
        provider=PROVIDER,
        direction=Direction.INBOUND,
        occurred_at=at,
        received_at=at,
        customer=Customer(
            id=email or f"visitor:{chat['id']}",
            display_name=chat["visitor_name"],
            kind="email" if email else "session",
        ),
        conversation_key=chat["conversation_key"],
        content=content,
        raw_ref=message_id,
        provider_meta={**provider_meta, **(meta or {})},
    )


async def _publish(producer: EventProducer, event: InteractionEvent) -> None:
    await publish_interactions(producer, [event])


async def send_message(
    database: Database,
    producer: EventProducer,
    hub: Hub,
    *,
    token: str,
    text: str,
    client_message_id: str,
    browser_language: str | None = None,
) -> tuple[InteractionEvent, dict[str, Any] | None]:
    """Publish a visitor's message; a resend of the same client message id publishes nothing.

    The browser's language counts only when the text tells none: a visitor may write in
    another language than their browser's.
    """
    at = utc_now()
    # Before the transaction, which it need not hold open.
    language = language_of(text, fallback=browser_language)
    async with database.transaction() as session:
        chat = await repository.session_by_token(session, _digest(token))
        if chat is None:
            raise NotFound("no chat session has this token")
        if chat["closed_at"] is not None:
            raise Conflict("this chat session is closed")
        message_id = f"{chat['id']}:{client_message_id}"
        event = _event(
            chat,
            EventType.MESSAGE_RECEIVED,
            message_id,
            at,
            content=Content(text=text, language=language),
        )
        stored = await repository.add_message(
            session, session_id=chat["id"], event_id=event.event_id, author="visitor",
            agent_id=None, text=text, sent_at=at,
        )  # fmt: skip
        if stored is None:
            return event, None
        await repository.touch(session, chat["id"], at)
        # Acknowledged by the broker before the message is committed as stored.
        await _publish(producer, event)
    view = {
        "id": stored,
        "author": "visitor",
        "agent_id": None,
        "text": text,
        "sent_at": at.isoformat(),
    }
    hub.notify(chat["id"])
    return event, view


async def history(
    database: Database, *, token: str, after: int, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` messages of the session of ``token`` after message id ``after``, oldest
    first, and whether more follow them."""
    chat = await find_session(database, token)
    page = await messages_after(database, session_id=chat["id"], after=after, limit=limit + 1)
    return page[:limit], len(page) > limit


async def messages_after(
    database: Database, *, session_id: uuid.UUID, after: int, limit: int
) -> list[dict[str, Any]]:
    async with database.transaction() as session:
        rows = await repository.messages_after(session, session_id, after, limit)
    return [message_view(row) for row in rows]


async def leave(database: Database, producer: EventProducer, *, token: str) -> bool:
    """The visitor closed the chat; False when it was closed already."""
    async with database.transaction() as session:
        chat = await repository.session_by_token(session, _digest(token))
        if chat is None:
            raise NotFound("no chat session has this token")
        return await _close(session, producer, chat, reason="closed", at=utc_now())


async def _close(
    session: AsyncSession,
    producer: EventProducer,
    chat: dict[str, Any],
    *,
    reason: str,
    at: datetime,
) -> bool:
    """Close the session; publish ``customer.left`` when no agent had replied yet.

    That event is what routing and metrics count as a chat abandon. A visitor who
    goes after an agent answered has been served: the agent resolves the conversation.
    """
    agent_replied = await repository.close(session, chat["id"], at)
    if agent_replied is None:
        return False
    if not agent_replied:
        meta = {"reason": reason}
        event = _event(chat, EventType.CUSTOMER_LEFT, f"{chat['id']}:left", at, meta=meta)
        # Acknowledged by the broker before the close is committed: a 503 leaves it open.
        await _publish(producer, event)
    return True


async def close_idle(database: Database, producer: EventProducer, *, idle_timeout_s: float) -> int:
    """Close the sessions silent for ``idle_timeout_s``: their visitors have left."""
    at = utc_now()
    async with database.transaction() as session:
        idle = await repository.idle_sessions(session, at - timedelta(seconds=idle_timeout_s))
        for chat in idle:
            await _close(session, producer, chat, reason="timed_out", at=at)
    return len(idle)


async def deliver_reply(database: Database, hub: Hub, event: InteractionEvent) -> None:
    """Store an agent's reply for its session and push it to the visitor's open widgets."""
    async with database.transaction() as session:
        chat = await repository.session_by_key(session, event.conversation_key)
        if chat is None:
            return  # a chat of another connector instance's database, or long gone
        text = event.content.text if event.content and event.content.text else ""
        stored = await repository.add_message(
            session, session_id=chat["id"], event_id=event.event_id, author="agent",
            agent_id=event.agent_id, text=text, sent_at=event.occurred_at,
        )  # fmt: skip
        if stored is None:
            return
        if event.agent_id and not event.automated:
            # Only a person's answer serves the visitor: leaving after a bot's is still an abandon.
            await repository.mark_agent_replied(session, chat["id"])
        await repository.touch(session, chat["id"], utc_now())
    hub.notify(chat["id"])


#: Records of website chats are keyed by their conversation, ``webchat:<session>``.
_WIDGET_KEY_PREFIX = f"{PROVIDER}:".encode()


def may_be_widget_reply(record: ConsumerRecord) -> bool:
    """Whether a record of ``interactions.v1`` may be a widget reply, from its key alone.

    Every webhook's event passes through the connector's consumer too: looking at the key
    first spares decoding them (that was a fifth of the cost of a generic webhook).
    """
    return record.key is not None and record.key.startswith(_WIDGET_KEY_PREFIX)


def is_widget_reply(event: InteractionEvent) -> bool:
    """An agent's (or a bot's) reply to a website chat, as routing publishes it."""
    return (
        event.type is EventType.MESSAGE_SENT
        and event.direction is Direction.OUTBOUND
        and event.channel is Channel.CHAT
        and event.provider == PROVIDER
        and event.conversation_key.startswith(f"{PROVIDER}:")
    )
