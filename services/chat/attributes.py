"""Bounds on what a site tells about its visitor: those attributes travel in every event."""

from __future__ import annotations

import json

from services.chat.settings import ChatSettings
from shared.errors import UnprocessableEntity


def check_attributes(attributes: dict[str, str], settings: ChatSettings) -> None:
    """Refuse (422, naming the field) attributes over the count, key, value or total bounds."""
    problems: list[dict[str, str]] = []
    if len(attributes) > settings.max_attributes:
        problems.append(
            {"field": "attributes", "problem": f"at most {settings.max_attributes} attributes"}
        )
    for key, value in attributes.items():
        if len(key) > settings.max_attribute_key_chars:
            limit = settings.max_attribute_key_chars
            problems.append(
                {"field": "attributes", "problem": f"a name holds at most {limit} characters"}
            )
        elif len(value) > settings.max_attribute_value_chars:
            limit = settings.max_attribute_value_chars
            problems.append(
                {"field": f"attributes.{key}", "problem": f"at most {limit} characters"}
            )
    if not problems and _size(attributes) > settings.max_attributes_bytes:
        limit = settings.max_attributes_bytes
        problems.append({"field": "attributes", "problem": f"at most {limit} bytes in all"})
    if problems:
        raise UnprocessableEntity("visitor attributes are too large", detail=problems)


def _size(attributes: dict[str, str]) -> int:
    return len(json.dumps(attributes, ensure_ascii=False).encode())
