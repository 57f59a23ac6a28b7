"""The event schema: deterministic ids, validation, and the committed JSON Schemas."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from pydantic import ValidationError

from shared.events import (
    SCHEMA_DIR,
    EventType,
    InteractionEvent,
    SurveyAnswer,
    event_id_for,
    render_schemas,
)
from tests.factories import interaction


def test_committed_schemas_match_the_models() -> None:
    generated = render_schemas()
    committed = {p.name: p.read_text() for p in SCHEMA_DIR.glob("*.schema.json")}
    assert committed == generated, "run `make schema` and commit shared/schemas/"


def test_event_ids_are_deterministic_per_provider_message_and_type() -> None:
    first = event_id_for("whatsapp", "wamid.1", EventType.MESSAGE_RECEIVED)
    assert first == event_id_for("whatsapp", "wamid.1", EventType.MESSAGE_RECEIVED)
    assert first.version == 5
    assert first != event_id_for("whatsapp", "wamid.2", EventType.MESSAGE_RECEIVED)
    assert first != event_id_for("messenger", "wamid.1", EventType.MESSAGE_RECEIVED)
    assert first != event_id_for("whatsapp", "wamid.1", EventType.MESSAGE_STATUS)


def test_event_round_trips_through_json() -> None:
    event = interaction()
    assert InteractionEvent.from_json(event.to_json()) == event


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        interaction(occurred_at=datetime(2026, 1, 1, 12, 0))


def test_unknown_fields_are_rejected() -> None:
    payload = json.loads(interaction().to_json())
    payload["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        InteractionEvent.model_validate(payload)


@pytest.mark.parametrize(("kind", "score"), [("csat", 0), ("csat", 6), ("nps", -1), ("nps", 11)])
def test_survey_scores_out_of_range_are_rejected(kind: str, score: int) -> None:
    with pytest.raises(ValidationError, match="between"):
        SurveyAnswer(kind=kind, score=score)


def test_event_ids_are_uuids_in_json() -> None:
    payload = json.loads(interaction().to_json())
    assert uuid.UUID(payload["event_id"])
    assert payload["schema_version"] == 1
