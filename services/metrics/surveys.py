"""Survey answers become ``survey.response`` events, counted by the same consumer as the rest."""

from __future__ import annotations

from datetime import UTC, datetime

from services.metrics.repository import writes
from services.metrics.schemas import SurveyIn
from shared.db import Database
from shared.errors import NotFound
from shared.events import (
    Channel,
    Customer,
    Direction,
    EventType,
    InteractionEvent,
    SurveyAnswer,
    event_id_for,
)
from shared.kafka import EventProducer, publish_interactions

SURVEY_PROVIDER = "switchboard-survey"


async def record_survey(
    *, database: Database, producer: EventProducer, answer: SurveyIn, received_at: datetime
) -> InteractionEvent:
    """Publish the answer (acks=all); the consumer ties it to its conversation's fact."""
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
