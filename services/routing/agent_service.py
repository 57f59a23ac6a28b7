"""What an agent does: offers, accept, decline, reply, transfer, resolve.

An agent only ever sees their own offers and conversations: anything else is
"not found", never "forbidden", so ids of other agents' work leak nothing.
"""

import uuid
from datetime import timedelta

from services.routing import holding, outbound, survey_questions, wrapup
from services.routing.domain import (
    AgentStatus,
    Author,
    Conversation,
    ConversationChanges,
    ConversationStatus,
    DeliveryStatus,
    Message,
    Offer,
    OfferState,
    PendingOffer,
)
from services.routing.matching import Matcher
from services.routing.unit_of_work import UnitOfWork
from shared.clock import utc_now
from shared.errors import BadRequest, Conflict, NotFound
from shared.events import (
    Channel,
    Content,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    LifecycleStep,
    event_id_for,
)

#: Why an action does not fit the conversation's state, by state.
WRONG_STATE = {
    ConversationStatus.QUEUED: "the conversation is waiting in its queue, not held by you",
    ConversationStatus.OFFERED: "the conversation is offered to you: accept the offer first",
    ConversationStatus.RESOLVED: "the conversation is already resolved",
    ConversationStatus.ABANDONED: "the customer abandoned the conversation",
}


async def my_offers(uow: UnitOfWork, *, agent_id: uuid.UUID) -> list[PendingOffer]:
    return await uow.offers.pending_for_agent(agent_id)


async def my_conversations(uow: UnitOfWork, *, agent_id: uuid.UUID) -> list[Conversation]:
    return await uow.conversations.held_by(agent_id)


async def _my_pending_offer(
    uow: UnitOfWork, *, agent_id: uuid.UUID, offer_id: uuid.UUID
) -> tuple[Offer, Conversation]:
    """Lock the offer's conversation and return (offer, conversation) if still pending."""
    offer = await uow.offers.get(offer_id)
    if offer is None or offer.agent_id != agent_id:
        raise NotFound("no such offer")
    conversation = await uow.conversations.lock(offer.conversation_id)
    offer = await uow.offers.get(offer_id)
    assert conversation is not None
    assert offer is not None
    if offer.state == OfferState.PENDING and offer.expires_at <= utc_now():
        raise Conflict("the offer timed out", detail={"state": OfferState.TIMED_OUT.value})
    if offer.state != OfferState.PENDING:
        state = offer.state.replace("_", " ")
        raise Conflict(f"the offer was already {state}", detail={"state": offer.state.value})
    return offer, conversation


async def accept(uow: UnitOfWork, *, agent_id: uuid.UUID, offer_id: uuid.UUID) -> Conversation:
    """Accept a pending offer: the conversation is now assigned to the agent."""
    offer, conversation = await _my_pending_offer(uow, agent_id=agent_id, offer_id=offer_id)
    at = utc_now()
    agent = await uow.agents.lock(agent_id)
    assert agent is not None
    await uow.offers.close(offer.id, state=OfferState.ACCEPTED, at=at)
    await uow.agents.update(agent_id, consecutive_timeouts=0)
    uow.touch(agent_id, at)
    changes: ConversationChanges = {
        "status": ConversationStatus.ASSIGNED,
        "accepted_at": conversation.accepted_at or at,
        "last_agent_id": agent_id,
        "reply_due_at": None,
    }
    queue = await uow.queues.get(conversation.queue_id) if conversation.queue_id else None
    if queue is not None and queue.reply_timeout_seconds is not None:
        changes["reply_due_at"] = at + timedelta(seconds=queue.reply_timeout_seconds)
    await uow.conversations.update(conversation, **changes)
    if conversation.contact_id is not None:
        await uow.contacts.remember_agent(conversation.contact_id, agent_id, at)
    # The phone connector connects a waiting caller to where the agent takes calls.
    address = agent.phone_address if outbound.is_call(conversation) else None
    uow.steps.add(
        LifecycleStep.ACCEPTED,
        at=at,
        conversation=conversation,
        agent_id=agent_id,
        agent_address=address,
    )
    uow.steps.add(LifecycleStep.ASSIGNED, at=at, conversation=conversation, agent_id=agent_id)
    return conversation


async def decline(uow: UnitOfWork, *, agent_id: uuid.UUID, offer_id: uuid.UUID) -> Conversation:
    """Decline a pending offer: the conversation goes on to the next agent."""
    _, conversation = await _my_pending_offer(uow, agent_id=agent_id, offer_id=offer_id)
    await holding.back_to_queue(
        uow,
        conversation=conversation,
        at=utc_now(),
        step=LifecycleStep.DECLINED,
        offer_state=OfferState.DECLINED,
    )
    await uow.agents.update(agent_id, consecutive_timeouts=0)
    return conversation


def _sees(conversation: Conversation, agent_id: uuid.UUID) -> bool:
    """The agent holds the conversation (offered or assigned), or held it last and nobody
    has since."""
    holder = conversation.agent_id
    return holder == agent_id or (holder is None and conversation.last_agent_id == agent_id)


async def _mine(
    uow: UnitOfWork, *, agent_id: uuid.UUID, conversation_id: uuid.UUID, action: str
) -> Conversation:
    """Lock one of the agent's conversations, assigned to them, or answer 404/409."""
    conversation = await uow.conversations.lock(conversation_id)
    if conversation is None or not _sees(conversation, agent_id):
        raise NotFound("no such conversation")
    status = conversation.status
    if status != ConversationStatus.ASSIGNED:
        raise Conflict(f"cannot {action}: {WRONG_STATE[status]}", detail={"status": status.value})
    return conversation


async def reply(
    uow: UnitOfWork,
    *,
    agent_id: uuid.UUID,
    conversation_id: uuid.UUID,
    text: str,
    reply_id: uuid.UUID | None,
    providers: frozenset[str],
    template: tuple[str, str] | None = None,
) -> InteractionEvent:
    """Record the agent's reply in the transcript (pending) and publish it as an outbound
    message for the connector; 409 when the conversation's provider cannot carry it."""
    conversation = await _mine(
        uow, agent_id=agent_id, conversation_id=conversation_id, action="reply"
    )
    outbound.require_outbound_path(conversation, providers=providers)
    at = utc_now()
    reply_id = reply_id or uuid.uuid4()
    last_word = await uow.messages.customer_last_word(conversation_id)
    message = InteractionEvent(
        event_id=event_id_for("routing", str(reply_id), EventType.MESSAGE_SENT),
        type=EventType.MESSAGE_SENT,
        channel=Channel(conversation.channel),
        provider=conversation.provider,
        direction=Direction.OUTBOUND,
        occurred_at=at,
        received_at=at,
        customer=Customer(id=conversation.customer_id, kind=conversation.customer_kind),
        conversation_key=conversation.conversation_key,
        content=Content(text=text, in_reply_to=last_word.raw_ref if last_word else None),
        agent_id=str(agent_id),
        raw_ref=str(reply_id),
        provider_meta=outbound.reply_meta(last_word, template),
    )
    new = await uow.conversations.add_reply(
        reply_id=reply_id,
        conversation_id=conversation_id,
        agent_id=agent_id,
        text=text,
        sent_at=at,
    )
    if not new:  # the same reply sent again: already recorded and published
        return message
    await uow.messages.add_many(
        [
            Message(
                id=reply_id,
                conversation_id=conversation_id,
                conversation_key=conversation.conversation_key,
                event_id=message.event_id,
                direction=Direction.OUTBOUND,
                author=Author.AGENT,
                agent_id=agent_id,
                at=at,
                text=text,
                status=DeliveryStatus.PENDING,
                status_at=at,
            )
        ]
    )
    changes: ConversationChanges = {"reply_due_at": None}
    if conversation.first_reply_at is None:
        changes["first_reply_at"] = at
        uow.steps.add(
            LifecycleStep.FIRST_REPLY, at=at, conversation=conversation, agent_id=agent_id
        )
    await uow.conversations.update(conversation, **changes)
    uow.steps.message(message)
    return message


async def transcript(
    uow: UnitOfWork, *, agent_id: uuid.UUID, conversation_id: uuid.UUID, after: int, limit: int
) -> list[Message]:
    """A page of the transcript of a conversation the agent holds, is offered or last held."""
    conversation = await uow.conversations.get(conversation_id)
    if conversation is None or not _sees(conversation, agent_id):
        raise NotFound("no such conversation")
    return await uow.messages.page(conversation_id, after=after, limit=limit)


async def resolve(
    uow: UnitOfWork, *, agent_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    """Resolve the agent's conversation, freeing the room it took."""
    conversation = await _mine(
        uow, agent_id=agent_id, conversation_id=conversation_id, action="resolve"
    )
    at = utc_now()
    await holding.release(uow, conversation=conversation, at=at)
    await uow.conversations.update(
        conversation,
        status=ConversationStatus.RESOLVED,
        resolved_at=at,
        reply_due_at=None,
    )
    uow.steps.add(LifecycleStep.RESOLVED, at=at, conversation=conversation, agent_id=agent_id)
    await survey_questions.ask(uow, conversation=conversation, at=at)
    await wrapup.begin(uow, agent_id=agent_id, conversation=conversation, at=at)
    return conversation


async def transfer(
    uow: UnitOfWork,
    *,
    matcher: Matcher,
    agent_id: uuid.UUID,
    conversation_id: uuid.UUID,
    to_agent_id: uuid.UUID | None,
    to_queue: str | None,
    note: str | None,
) -> Conversation:
    """Hand the conversation to another agent (as an offer) or to a queue, with a note."""
    conversation = await _mine(
        uow, agent_id=agent_id, conversation_id=conversation_id, action="transfer"
    )
    at = utc_now()
    if to_agent_id is not None:
        if to_agent_id == agent_id:
            raise BadRequest("cannot transfer a conversation to yourself")
        target = await uow.agents.get(to_agent_id)
        if target is None:
            raise NotFound("no such agent to transfer to")
        await holding.release(uow, conversation=conversation, at=at)
        target = await uow.agents.lock(to_agent_id)
        assert target is not None
        if target.status != AgentStatus.AVAILABLE:
            raise Conflict(f"the agent is {target.status}", detail={"status": target.status.value})
        channel = conversation.channel
        room = target.room_on(channel)
        if await uow.agents.load_on(to_agent_id, channel) >= room:
            raise Conflict(f"the agent has no room for another {channel} conversation")
        queue = await uow.queues.get(conversation.queue_id) if conversation.queue_id else None
        uow.steps.add(
            LifecycleStep.TRANSFERRED,
            at=at,
            conversation=conversation,
            agent_id=to_agent_id,
            previous_agent_id=agent_id,
            note=note,
        )
        await holding.offer_to(
            uow,
            conversation=conversation,
            agent_id=to_agent_id,
            at=at,
            timeout_s=matcher.offer_timeout_s(queue),
            note=note,
        )
        return conversation
    assert to_queue is not None
    queue = await uow.queues.named(to_queue)
    if queue is None:
        raise NotFound("no such queue to transfer to")
    await holding.release(uow, conversation=conversation, at=at)
    uow.steps.add(
        LifecycleStep.TRANSFERRED,
        at=at,
        conversation=conversation,
        queue=queue.name,
        previous_agent_id=agent_id,
        note=note,
    )
    await uow.conversations.update(conversation, reply_due_at=None)
    await holding.place(
        uow,
        conversation=conversation,
        at=at,
        queue=queue,
        step=LifecycleStep.REQUEUED,
        note=note,
    )
    return conversation
