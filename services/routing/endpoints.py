"""The agent API: my status, offers and conversations, and what I do with them."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from services.routing import agent_service, presence
from services.routing.deps import AgentDep, FeedDep, MatcherDep, SettingsDep, UnitOfWorkDep
from services.routing.domain import Agent, AgentStatus
from services.routing.feed import CLOSED
from services.routing.schemas import (
    AgentOut,
    ConversationOut,
    OfferOut,
    ReplyBody,
    ReplyOut,
    StatusChange,
    TransferBody,
)
from shared.clock import utc_now

router = APIRouter(prefix="/agent", tags=["agent"])


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


@router.post("/conversations/{conversation_id}/reply", response_model=ReplyOut, status_code=202)
async def reply(
    conversation_id: uuid.UUID, body: ReplyBody, uow: UnitOfWorkDep, agent: AgentDep
) -> ReplyOut:
    """Reply to the customer: recorded, then sent as `message.sent` for the channel's connector."""
    message = await uow.run(
        agent_service.reply,
        agent_id=agent.id,
        conversation_id=conversation_id,
        text=body.text,
        reply_id=body.reply_id,
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
    request: Request, feed: FeedDep, settings: SettingsDep, agent: AgentDep
) -> StreamingResponse:
    """Server-sent events: my new offers and every change to my offers, work and status."""
    agent_id = str(agent.id)

    async def events() -> AsyncIterator[str]:
        deadline = time.monotonic() + settings.stream_max_s
        with feed.subscribe(agent_id) as notices:
            hello = json.dumps({"agent_id": agent_id})
            yield f"retry: 1000\nevent: ready\ndata: {hello}\n\n"
            while time.monotonic() < deadline and not await request.is_disconnected():
                try:
                    notice = await asyncio.wait_for(notices.get(), settings.stream_heartbeat_s)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                if notice is CLOSED:
                    return
                yield f"event: {notice['type']}\ndata: {json.dumps(notice)}\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
