"""The agent API: my status, offers and conversations, and what I do with them."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from services.routing import agent_service, presence
from services.routing.auth import AgentDep
from services.routing.domain import AgentStatus
from services.routing.feed import CLOSED, AgentFeed
from services.routing.lifecycle import Steps, in_transaction
from services.routing.repository import agents
from services.routing.schemas import (
    AgentOut,
    ConversationOut,
    OfferOut,
    ReplyBody,
    ReplyOut,
    StatusChange,
    TransferBody,
)
from services.routing.settings import RoutingSettings
from shared.clock import utc_now
from shared.service import Runtime, RuntimeDep

router = APIRouter(prefix="/agent", tags=["agent"])
T = TypeVar("T")


async def run(runtime: Runtime, work: Callable[[AsyncSession, Steps], Awaitable[T]]) -> T:
    """One transaction; wakes the outbox relay and the matcher after a commit that published."""
    published: Callable[[], None] = runtime.state["published"]
    return await in_transaction(runtime.database, work, wake=published)


@router.get("/me", response_model=AgentOut)
async def me(runtime: RuntimeDep, caller: AgentDep) -> Any:
    """My profile: skills, languages, capacity, status."""
    async with runtime.database.transaction() as session:
        return await agents.agent_by_id(session, caller.agent_id)


@router.put("/status", response_model=AgentOut)
async def set_my_status(body: StatusChange, runtime: RuntimeDep, caller: AgentDep) -> Any:
    """Set my status; away or offline hands my pending offers back at once."""
    return await run(
        runtime,
        lambda s, steps: presence.set_status(
            s, steps, agent_id=caller.agent_id, status=AgentStatus(body.status), at=utc_now()
        ),
    )


@router.get("/offers", response_model=list[OfferOut])
async def my_offers(runtime: RuntimeDep, caller: AgentDep) -> Any:
    """My pending offers, oldest first."""
    async with runtime.database.transaction() as session:
        return await agent_service.my_offers(session, agent_id=caller.agent_id)


@router.get("/conversations", response_model=list[ConversationOut])
async def my_conversations(runtime: RuntimeDep, caller: AgentDep) -> Any:
    """The conversations I hold (offered to me or assigned to me)."""
    async with runtime.database.transaction() as session:
        return await agent_service.my_conversations(session, agent_id=caller.agent_id)


@router.post("/offers/{offer_id}/accept", response_model=ConversationOut)
async def accept_offer(offer_id: uuid.UUID, runtime: RuntimeDep, caller: AgentDep) -> Any:
    """Accept an offer: the conversation is assigned to me (409 if it timed out)."""
    return await run(
        runtime,
        lambda s, steps: agent_service.accept(
            s, steps, agent_id=caller.agent_id, offer_id=offer_id
        ),
    )


@router.post("/offers/{offer_id}/decline", response_model=ConversationOut)
async def decline_offer(offer_id: uuid.UUID, runtime: RuntimeDep, caller: AgentDep) -> Any:
    """Decline an offer: the conversation goes to the next agent."""
    return await run(
        runtime,
        lambda s, steps: agent_service.decline(
            s, steps, agent_id=caller.agent_id, offer_id=offer_id
        ),
    )


@router.post("/conversations/{conversation_id}/reply", response_model=ReplyOut, status_code=202)
async def reply(
    conversation_id: uuid.UUID, body: ReplyBody, runtime: RuntimeDep, caller: AgentDep
) -> ReplyOut:
    """Reply to the customer: recorded, then sent as `message.sent` for the channel's connector."""
    message = await run(
        runtime,
        lambda s, steps: agent_service.reply(
            s,
            steps,
            agent_id=caller.agent_id,
            conversation_id=conversation_id,
            text=body.text,
            reply_id=body.reply_id,
        ),
    )
    return ReplyOut(
        event_id=message.event_id, reply_id=message.raw_ref or "", conversation_id=conversation_id
    )


@router.post("/conversations/{conversation_id}/transfer", response_model=ConversationOut)
async def transfer(
    conversation_id: uuid.UUID, body: TransferBody, runtime: RuntimeDep, caller: AgentDep
) -> Any:
    """Transfer my conversation to another agent (offered to them) or to a queue, with a note."""
    return await run(
        runtime,
        lambda s, steps: agent_service.transfer(
            s,
            steps,
            matcher=runtime.state["matcher"],
            agent_id=caller.agent_id,
            conversation_id=conversation_id,
            to_agent_id=body.to_agent_id,
            to_queue=body.to_queue,
            note=body.note,
        ),
    )


@router.post("/conversations/{conversation_id}/resolve", response_model=ConversationOut)
async def resolve(conversation_id: uuid.UUID, runtime: RuntimeDep, caller: AgentDep) -> Any:
    """Resolve my conversation (409 if it already is)."""
    return await run(
        runtime,
        lambda s, steps: agent_service.resolve(
            s, steps, agent_id=caller.agent_id, conversation_id=conversation_id
        ),
    )


@router.get("/stream", response_class=StreamingResponse)
async def stream(request: Request, runtime: RuntimeDep, caller: AgentDep) -> StreamingResponse:
    """Server-sent events: my new offers and every change to my offers, work and status."""
    feed: AgentFeed = runtime.state["feed"]
    settings: RoutingSettings = runtime.state["settings"]

    async def events() -> AsyncIterator[str]:
        deadline = time.monotonic() + settings.stream_max_s
        with feed.subscribe(str(caller.agent_id)) as notices:
            hello = json.dumps({"agent_id": str(caller.agent_id)})
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
