"""The agent API: my status, offers and conversations, and what I do with them."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse

from services.routing import agent_service, presence
from services.routing.deps import AgentDep, FeedDep, MatcherDep, SettingsDep, UnitOfWorkDep
from services.routing.domain import Agent, AgentStatus
from services.routing.feed import CLOSED
from services.routing.repository.notices import Notice
from services.routing.schemas import (
    DEFAULT_PAGE,
    AfterQuery,
    AgentOut,
    ConversationOut,
    LimitQuery,
    MessagePage,
    OfferOut,
    ReplyBody,
    ReplyOut,
    StatusChange,
    TransferBody,
    message_page,
)
from shared.clock import utc_now

router = APIRouter(prefix="/agent", tags=["agent"])

#: Missed notices a reconnecting stream gets at most (the replay window bounds them too).
REPLAY_LIMIT = 5000


def sse(notice: Notice) -> str:
    """A notice as one server-sent event; its id goes in the event's ``id:`` field (which the
    browser sends back as ``Last-Event-ID``), the rest in its data."""
    data = json.dumps({k: v for k, v in notice.items() if k != "id"})
    return f"id: {notice['id']}\nevent: {notice['type']}\ndata: {data}\n\n"


@router.get("/me", response_model=AgentOut)
async def me(agent: AgentDep) -> Agent:
    """My profile: skills, languages, capacity, status."""
    return agent


@router.put("/status", response_model=AgentOut)
async def set_my_status(body: StatusChange, uow: UnitOfWorkDep, agent: AgentDep) -> Any:
    """Set my status; away or offline hands my pending offers back at once."""
    return await uow.run(
        presence.set_status, agent_id=agent.id, status=AgentStatus(body.status), at=utc_now()
    )


@router.get("/offers", response_model=list[OfferOut])
async def my_offers(uow: UnitOfWorkDep, agent: AgentDep) -> Any:
    """My pending offers, oldest first."""
    async with uow:
        return await agent_service.my_offers(uow, agent_id=agent.id)


@router.get("/conversations", response_model=list[ConversationOut])
async def my_conversations(uow: UnitOfWorkDep, agent: AgentDep) -> Any:
    """The conversations I hold (offered to me or assigned to me)."""
    async with uow:
        return await agent_service.my_conversations(uow, agent_id=agent.id)


@router.post("/offers/{offer_id}/accept", response_model=ConversationOut)
async def accept_offer(offer_id: uuid.UUID, uow: UnitOfWorkDep, agent: AgentDep) -> Any:
    """Accept an offer: the conversation is assigned to me (409 if it timed out)."""
    return await uow.run(agent_service.accept, agent_id=agent.id, offer_id=offer_id)


@router.post("/offers/{offer_id}/decline", response_model=ConversationOut)
async def decline_offer(offer_id: uuid.UUID, uow: UnitOfWorkDep, agent: AgentDep) -> Any:
    """Decline an offer: the conversation goes to the next agent."""
    return await uow.run(agent_service.decline, agent_id=agent.id, offer_id=offer_id)


@router.get("/conversations/{conversation_id}/messages", response_model=MessagePage)
async def conversation_messages(
    conversation_id: uuid.UUID,
    uow: UnitOfWorkDep,
    agent: AgentDep,
    after: AfterQuery = 0,
    limit: LimitQuery = DEFAULT_PAGE,
) -> MessagePage:
    """The messages of a conversation I hold or am offered, oldest first, after a cursor."""
    async with uow:
        found = await agent_service.transcript(
            uow, agent_id=agent.id, conversation_id=conversation_id, after=after, limit=limit
        )
    return message_page(found, after=after)


@router.post("/conversations/{conversation_id}/reply", response_model=ReplyOut, status_code=202)
async def reply(
    conversation_id: uuid.UUID,
    body: ReplyBody,
    uow: UnitOfWorkDep,
    settings: SettingsDep,
    agent: AgentDep,
) -> ReplyOut:
    """Reply to the customer: recorded, then sent as `message.sent` for the channel's connector."""
    template = body.template
    message = await uow.run(
        agent_service.reply,
        agent_id=agent.id,
        conversation_id=conversation_id,
        text=body.text,
        reply_id=body.reply_id,
        providers=settings.reply_provider_set,
        template=(template.name, template.language) if template else None,
    )
    return ReplyOut(
        event_id=message.event_id, reply_id=message.raw_ref or "", conversation_id=conversation_id
    )


@router.post("/conversations/{conversation_id}/transfer", response_model=ConversationOut)
async def transfer(
    conversation_id: uuid.UUID,
    body: TransferBody,
    uow: UnitOfWorkDep,
    matcher: MatcherDep,
    agent: AgentDep,
) -> Any:
    """Transfer my conversation to another agent (offered to them) or to a queue, with a note."""
    return await uow.run(
        agent_service.transfer,
        matcher=matcher,
        agent_id=agent.id,
        conversation_id=conversation_id,
        to_agent_id=body.to_agent_id,
        to_queue=body.to_queue,
        note=body.note,
    )


@router.post("/conversations/{conversation_id}/resolve", response_model=ConversationOut)
async def resolve(conversation_id: uuid.UUID, uow: UnitOfWorkDep, agent: AgentDep) -> Any:
    """Resolve my conversation (409 if it already is)."""
    return await uow.run(agent_service.resolve, agent_id=agent.id, conversation_id=conversation_id)


@router.get("/stream", response_class=StreamingResponse)
async def stream(
    request: Request,
    feed: FeedDep,
    settings: SettingsDep,
    uow: UnitOfWorkDep,
    agent: AgentDep,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """Server-sent events: my offers, conversations, customers' messages, replies' statuses and
    status; a reconnect with `Last-Event-ID` first gets what it missed."""
    agent_id = str(agent.id)

    async def events() -> AsyncIterator[str]:
        deadline = time.monotonic() + settings.stream_max_s
        with feed.subscribe(agent_id) as notices:
            hello = json.dumps({"agent_id": agent_id})
            yield f"retry: 1000\nevent: ready\ndata: {hello}\n\n"
            # Subscribed first, then read the missed ones: a notice committed meanwhile
            # comes both ways and is sent once.
            replayed: set[str] = set()
            if last_event_id is not None and last_event_id.strip().isdigit():
                async with uow:
                    missed = await uow.notices.after(
                        agent.id, int(last_event_id), limit=REPLAY_LIMIT
                    )
                for notice in missed:
                    replayed.add(notice["id"])
                    yield sse(notice)
            while time.monotonic() < deadline and not await request.is_disconnected():
                try:
                    notice = await asyncio.wait_for(notices.get(), settings.stream_heartbeat_s)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                if notice is CLOSED:
                    return
                if notice.get("id") not in replayed:
                    yield sse(notice)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
