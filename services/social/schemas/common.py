"""What every provider's webhook model shares: unknown fields kept, epoch bounds, parsing.

Providers add fields and event kinds without notice, so every model keeps
unknown fields (``extra="allow"``): a kind we do not know yet is still
published, with its kind named, instead of being dropped.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.errors import BadRequest, invalid_body
from shared.json import json_document

#: The latest second a ``datetime`` can hold (9999-12-31T23:59:59Z): a later time stamp is a
#: malformed payload, refused with a 400 rather than failing in the parser.
LATEST_EPOCH_S = 253_402_300_799

EpochSeconds = Annotated[int, Field(ge=0, le=LATEST_EPOCH_S)]
EpochMillis = Annotated[int, Field(ge=0, le=LATEST_EPOCH_S * 1000 + 999)]

Model = TypeVar("Model", bound=BaseModel)


class ProviderModel(BaseModel):
    """Base of every provider's model: unknown fields kept, ids given as numbers read as text."""

    model_config = ConfigDict(extra="allow", frozen=True, coerce_numbers_to_str=True)


class Accepted(BaseModel):
    """The connector's answer to a delivery: the ids of the events it published."""

    event_ids: list[str]


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object; 400 when it is not JSON or not an object."""
    document = json_document(body)
    if not isinstance(document, dict):
        raise BadRequest(
            "body must be a JSON object", detail=[{"field": "body", "problem": "not an object"}]
        )
    return document


def parse(model: type[Model], body: bytes) -> Model:
    """The body as ``model``; 400 naming the fields when it is not JSON or not that shape."""
    try:
        return model.model_validate(json_object(body))
    except ValidationError as exc:
        raise invalid_body(exc, f"body is not a valid {model.__name__}") from None
