"""Surveys customers receive: the question after a resolve, and an answer by reply.

A queue with ``survey_kind`` (``csat`` or ``nps``) and ``survey_message`` sends the
customer that text after one of its conversations is resolved, as an automated message
through the outbound path; ``{link}`` in it becomes the survey link with the signed token
of ``conversation.resolved`` (``ROUTING_SURVEY_LINK_BASE``). On a channel that carried the
question, a reply that is just a number on the survey's scale (1-5, 0-10), while the
conversation stays resolved and the token valid, is the answer: routing publishes it as a
``survey.response`` (the same event id as an answer through metrics' ``POST /surveys`` for
that conversation and kind, so answering both ways counts once) and it reopens nothing.
"""

import re
import uuid
from collections.abc import Sequence
from datetime import datetime

from services.routing import automated, outbound
from services.routing.domain import Conversation
from services.routing.repository.surveys import OpenQuestion
from services.routing.unit_of_work import UnitOfWork
from shared.events import (
    Channel,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    SurveyAnswer,
    event_id_for,
)

#: The provider of survey answers, as metrics' POST /surveys names it.
SURVEY_PROVIDER = "switchboard-survey"
#: A reply that is just a number (a trailing full stop or exclamation mark allowed).
NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.!]?\s*$")
SCALES = {"csat": range(1, 6), "nps": range(0, 11)}


async def ask(uow: UnitOfWork, *, conversation: Conversation, at: datetime) -> bool:
    """Send the queue's survey question for the just-resolved ``conversation``; whether sent."""
    issuer = uow.surveys
    if issuer is None or conversation.queue_id is None:
        return False
    queue = await uow.queues.get(conversation.queue_id)
    if queue is None or queue.survey_kind not in SCALES or not queue.survey_message:
        return False
    try:
        outbound.require_outbound_path(conversation, providers=issuer.providers)
    except outbound.NoOutboundPath:
        return False
    kind = queue.survey_kind
    token = issuer.tokens(conversation, at=at)[kind]
    text = queue.survey_message.replace("{link}", issuer.link(token)).strip()
    cause = f"{conversation.id}:{at.isoformat()}:survey"
    sent = await automated.send(
        uow, conversation=conversation, text=text, cause=cause, at=at, meta={"survey_kind": kind}
    )
    if sent is None:
        return False
    await uow.survey_questions.asked(
        conversation_id=conversation.id,
        conversation_key=conversation.conversation_key,
        kind=kind,
        at=at,
        expires_at=at + issuer.valid_for,
    )
    return True


def _text(event: InteractionEvent) -> str:
    content = event.content
    return (content.stripped_text or content.text or "") if content is not None else ""


def score_of(event: InteractionEvent, kind: str) -> int | None:
    """The score a customer's message gives, if it is just a number on the kind's scale."""
    if event.type is not EventType.MESSAGE_RECEIVED or event.direction is not Direction.INBOUND:
        return None
    if event.automated or event.content is None:
        return None
    match = NUMBER.match(_text(event))
    if match is None or int(match.group(1)) not in SCALES[kind]:
        return None
    return int(match.group(1))


def _answer(question: OpenQuestion, event: InteractionEvent, score: int) -> InteractionEvent:
    answer_id = f"{question.conversation_key}\x1f{question.kind}"
    return InteractionEvent(
        event_id=event_id_for(SURVEY_PROVIDER, answer_id, EventType.SURVEY_RESPONSE),
        type=EventType.SURVEY_RESPONSE,
        channel=Channel(question.channel),
        provider=SURVEY_PROVIDER,
        direction=Direction.INBOUND,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        customer=Customer(id=question.customer_id, kind=question.customer_kind),
        conversation_key=question.conversation_key,
        survey=SurveyAnswer(kind=question.kind, score=score),
        raw_ref=event.raw_ref,
        provider_meta={"answered_by": "reply", "reply_event_id": str(event.event_id)},
    )


async def take_answers(uow: UnitOfWork, events: Sequence[InteractionEvent]) -> set[uuid.UUID]:
    """Publish the replies among ``events`` that answer an open survey question; their ids
    (routing handles them as nothing else: no conversation reopens)."""
    numbers = [e for e in events if NUMBER.match(_text(e))]
    if not numbers:
        return set()
    questions = await uow.survey_questions.open_questions(
        list({e.conversation_key for e in numbers})
    )
    taken: set[uuid.UUID] = set()
    for event in numbers:
        question = questions.get(event.conversation_key)
        if question is None or event.occurred_at > question.expires_at:
            continue
        score = score_of(event, question.kind)
        if score is None:
            continue
        uow.steps.message(_answer(question, event, score))
        await uow.survey_questions.answered(question.conversation_id, event.occurred_at)
        del questions[event.conversation_key]
        taken.add(event.event_id)
    return taken
