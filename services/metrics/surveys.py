"""Survey answers become ``survey.response`` events, counted by the same consumer as the rest."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import SecretStr

from services.metrics.repository import writes
from services.metrics.schemas import SurveyIn
from shared.auth import Principal, verify_survey_token
from shared.db import Database
from shared.errors import BadRequest, Forbidden, NotFound
from shared.events import (
    Channel,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    Role,
    SurveyAnswer,
    event_id_for,
)
from shared.kafka import EventProducer, publish_interactions

SURVEY_PROVIDER = "switchboard-survey"


def authorized_answer(
    answer: SurveyIn, *, secret: SecretStr, caller: Principal | None, now: datetime
) -> SurveyIn:
    """The answer as it may be recorded: its survey token checked against what it rates,
    or, without a token, a service's (or the admin's) answer naming its conversation."""
    if answer.token is None:
        if caller is None:
            raise Forbidden("send the survey token, or a service token in Authorization")
        caller.require(Role.SERVICE, Role.ADMIN)
        if answer.conversation_key is None:
            raise BadRequest("name the conversation_key", detail={"field": "conversation_key"})
        return answer
    grant = verify_survey_token(secret, answer.token, now=now)
    if answer.conversation_key not in (None, grant.conversation_key) or answer.kind != grant.kind:
        raise Forbidden("the survey token is for another conversation or kind")
    # A customer's answer happened when it arrived: a token does not let it move in time.
    return answer.model_copy(
        update={
            "conversation_key": grant.conversation_key,
            "channel": Channel(grant.channel),
            "answered_at": None,
        }
    )


async def record_survey(
    *, database: Database, producer: EventProducer, answer: SurveyIn, received_at: datetime
) -> InteractionEvent:
    """Publish the answer (acks=all); the consumer ties it to its conversation's fact."""
    assert answer.conversation_key is not None  # authorized_answer made sure
    channel = answer.channel
    if channel is None:
        async with database.transaction() as session:
            known = await writes.conversation_channel(session, answer.conversation_key)
        if known is None:
            raise NotFound(
                f"conversation {answer.conversation_key!r} is unknown; pass its channel",
                detail={"field": "conversation_key"},
            )
        channel = Channel(known)
    # One answer per conversation and kind unless the survey tool names its answers.
    answer_id = answer.response_id or f"{answer.conversation_key}\x1f{answer.kind}"
    event = InteractionEvent(
        event_id=event_id_for(SURVEY_PROVIDER, answer_id, EventType.SURVEY_RESPONSE),
        type=EventType.SURVEY_RESPONSE,
        channel=channel,
        provider=SURVEY_PROVIDER,
        direction=Direction.INBOUND,
        occurred_at=(answer.answered_at or received_at).astimezone(UTC),
        received_at=received_at,
        customer=Customer(id=answer.conversation_key, kind="conversation"),
        conversation_key=answer.conversation_key,
        survey=SurveyAnswer(kind=answer.kind, score=answer.score),
        raw_ref=answer.response_id,
    )
    await publish_interactions(producer, [event])
    return event
