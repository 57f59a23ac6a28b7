"""Retention: each service's sweeper deletes (or, in metrics, pseudonymizes) the rows of a
kind of data older than its setting, and keeps the newer ones.

The rows are written in 2001 and the sweeps run as if it were mid-2001, so the other
tests' rows, all newer, are never touched.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Table, delete, func, insert, select

from services.chat import privacy as chat_privacy
from services.chat.app import create_app as create_chat
from services.chat.models import chat_message, chat_session
from services.chat.settings import ChatSettings
from services.email import privacy as email_privacy
from services.email.models import thread_message
from services.email.settings import EmailSettings
from services.metrics import privacy as metrics_privacy
from services.metrics.models import conversation_fact
from services.metrics.settings import MetricsSettings
from services.phone import privacy as phone_privacy
from services.phone.models import call, call_redirect
from services.phone.settings import PhoneSettings
from services.routing.erasure import retention_rules
from services.routing.models import conversation, message, reply
from services.routing.settings import RoutingSettings
from services.social import privacy as social_privacy
from services.social.models import delivery
from services.social.settings import SocialSettings
from shared.db import Database
from shared.privacy import pseudonym, sweep_once
from tests.chat.conftest import environment
from tests.routing.support import eventually
from tests.support.groups import own_groups
from tests.support.server import serving

NOW = datetime(2001, 6, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=40)
NEW = NOW - timedelta(days=20)
DAYS = 30.0


async def insert_rows(database: Database, table: Table, rows: list[dict[str, Any]]) -> None:
    async with database.transaction() as session:
        await session.execute(insert(table), rows)


async def present(database: Database, table: Table, column: Any, values: list[Any]) -> set[Any]:
    async with database.transaction() as session:
        return set((await session.execute(select(column).where(column.in_(values)))).scalars())


def session_row(at: datetime) -> dict[str, Any]:
    session_id = uuid.uuid4()
    return {
        "id": session_id,
        "token_sha256": uuid.uuid4().hex + uuid.uuid4().hex,
        "conversation_key": f"webchat:{session_id}",
        "visitor_name": "Ada",
        "visitor_email": "ada@example.org",
        "page_url": None,
        "attributes": {},
        "opened_at": at,
        "last_activity_at": at,
        "closed_at": at,
        "agent_replied": False,
    }


def message_row(session_id: uuid.UUID, at: datetime) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "event_id": uuid.uuid4(),
        "author": "visitor",
        "text": "my address is 1 Main St",
        "sent_at": at,
    }


async def test_chat_sessions_and_their_messages_past_retention_are_deleted(
    database: Database,
) -> None:
    old, new = session_row(OLD), session_row(NEW)
    await insert_rows(database, chat_session, [old, new])
    await insert_rows(
        database, chat_message, [message_row(old["id"], OLD), message_row(new["id"], NEW)]
    )
    settings = ChatSettings(retention_sessions_days=DAYS)

    swept = await sweep_once(database, chat_privacy.retention_rules(settings), batch=1, now=NOW)

    assert swept["sessions"] >= 1
    ids = [old["id"], new["id"]]
    assert await present(database, chat_session, chat_session.c.id, ids) == {new["id"]}
    assert await present(database, chat_message, chat_message.c.session_id, ids) == {new["id"]}


async def test_email_threads_past_retention_are_deleted(database: Database) -> None:
    old, new = f"<{uuid.uuid4()}@old>", f"<{uuid.uuid4()}@new>"
    await insert_rows(
        database,
        thread_message,
        [
            {"message_id": old, "conversation_key": f"email:{old}", "seen_at": OLD},
            {"message_id": new, "conversation_key": f"email:{new}", "seen_at": NEW},
        ],
    )
    settings = EmailSettings(retention_threads_days=DAYS)

    await sweep_once(database, email_privacy.retention_rules(settings), batch=100, now=NOW)

    column = thread_message.c.message_id
    assert await present(database, thread_message, column, [old, new]) == {new}


async def test_phone_calls_and_redirects_past_retention_are_deleted(database: Database) -> None:
    old, new = f"twilio_voice:CA{uuid.uuid4().hex}", f"twilio_voice:CA{uuid.uuid4().hex}"
    await insert_rows(
        database, call, [{"call_key": old, "created_at": OLD}, {"call_key": new, "created_at": NEW}]
    )
    redirects = [
        {
            "accepted_event_id": uuid.uuid4(),
            "call_key": key,
            "agent_address": "+15551230000",
            "state": "redirected",
            "created_at": at,
        }
        for key, at in ((old, OLD), (new, NEW))
    ]
    await insert_rows(database, call_redirect, redirects)
    settings = PhoneSettings(retention_calls_days=DAYS)

    await sweep_once(database, phone_privacy.retention_rules(settings), batch=100, now=NOW)

    assert await present(database, call, call.c.call_key, [old, new]) == {new}
    assert await present(database, call_redirect, call_redirect.c.call_key, [old, new]) == {new}


async def test_settled_deliveries_past_retention_are_deleted_and_queued_ones_kept(
    database: Database,
) -> None:
    def row(state: str, at: datetime) -> dict[str, Any]:
        return {
            "event_id": uuid.uuid4(),
            "provider": "whatsapp",
            "event": "{}",
            "state": state,
            "attempts": 1,
            "next_attempt_at": at,
            "created_at": at,
        }

    old_sent, old_queued, new_sent = row("sent", OLD), row("queued", OLD), row("sent", NEW)
    await insert_rows(database, delivery, [old_sent, old_queued, new_sent])
    settings = SocialSettings(retention_deliveries_days=DAYS)

    await sweep_once(database, social_privacy.retention_rules(settings), batch=100, now=NOW)

    ids = [r["event_id"] for r in (old_sent, old_queued, new_sent)]
    kept = await present(database, delivery, delivery.c.event_id, ids)
    # Made-up rows must not reach a social connector that later tests start on this database.
    async with database.transaction() as session:
        await session.execute(delete(delivery).where(delivery.c.event_id.in_(ids)))
    assert kept == {old_queued["event_id"], new_sent["event_id"]}


async def test_routing_transcripts_and_reply_texts_past_retention_are_deleted(
    database: Database,
) -> None:
    conversation_id, key = uuid.uuid4(), f"webchat:{uuid.uuid4()}"
    await insert_rows(
        database,
        conversation,
        [
            {
                "id": conversation_id,
                "conversation_key": key,
                "channel": "chat",
                "provider": "webchat",
                "customer_id": "visitor",
                "customer_kind": "session",
                "status": "resolved",
                "priority": 0,
                "optional_skills_dropped": False,
                "opened_at": OLD,
                "cycle_started_at": OLD,
                "last_inbound_at": NEW,
                "inbound_count": 2,
                "reopen_count": 0,
            }
        ],
    )
    messages = [
        {
            "id": uuid.uuid4(),
            "conversation_id": conversation_id,
            "conversation_key": key,
            "event_id": uuid.uuid4(),
            "direction": "inbound",
            "author": "customer",
            "at": at,
            "text": "my card ends in 4242",
            "attachments": [],
        }
        for at in (OLD, NEW)
    ]
    await insert_rows(database, message, messages)
    replies = [
        {
            "id": uuid.uuid4(),
            "conversation_id": conversation_id,
            "agent_id": uuid.uuid4(),
            "text": "thanks",
            "sent_at": at,
        }
        for at in (OLD, NEW)
    ]
    await insert_rows(database, reply, replies)
    settings = RoutingSettings(retention_messages_days=DAYS)

    swept = await sweep_once(database, retention_rules(settings), batch=100, now=NOW)

    assert swept == {"messages": 1, "replies": 1}
    ids = [m["id"] for m in messages]
    assert await present(database, message, message.c.id, ids) == {messages[1]["id"]}
    ids = [r["id"] for r in replies]
    assert await present(database, reply, reply.c.id, ids) == {replies[1]["id"]}


async def test_metrics_facts_past_retention_keep_their_numbers_under_pseudonyms(
    database: Database,
) -> None:
    old, new = (
        f"sms:+1415{uuid.uuid4().int % 10**7:07d}:+1",
        f"sms:+1415{uuid.uuid4().int % 10**7:07d}:+1",
    )
    await insert_rows(
        database,
        conversation_fact,
        [
            {"conversation_key": old, "channel": "phone", "opened_at": OLD, "reopen_count": 1},
            {"conversation_key": new, "channel": "phone", "opened_at": NEW, "reopen_count": 0},
        ],
    )
    settings = MetricsSettings(retention_keys_days=DAYS)
    secret = SecretStr("dev-pseudonym-secret")

    await sweep_once(database, metrics_privacy.retention_rules(settings), batch=100, now=NOW)

    keys = [old, new, pseudonym(secret, old)]
    column = conversation_fact.c.conversation_key
    assert await present(database, conversation_fact, column, keys) == {new, pseudonym(secret, old)}
    async with database.transaction() as session:
        reopens = await session.scalar(
            select(func.sum(conversation_fact.c.reopen_count)).where(column.in_(keys))
        )
    assert reopens == 1


@pytest.fixture
async def chat_sweeping(stack_env: None) -> AsyncIterator[str]:
    """A chat connector whose sweeper runs often, keeping sessions ten years."""
    with environment(
        {
            **own_groups("chat"),
            "CHAT_RETENTION_SESSIONS_DAYS": "3650",
            "CHAT_RETENTION_SWEEP_INTERVAL_S": "0.2",
        }
    ):
        app = create_chat()
    async with serving(app) as url:
        yield url


async def test_a_running_connector_sweeps_by_itself(database: Database, chat_sweeping: str) -> None:
    old = session_row(OLD)
    await insert_rows(database, chat_session, [old])

    async def gone() -> bool:
        return not await present(database, chat_session, chat_session.c.id, [old["id"]])

    await eventually(gone, what="the chat connector's sweeper to delete a 2001 session")
