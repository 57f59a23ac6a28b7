"""One way to read a JSON request body: whatever the body holds, a document or a 400.

Python's JSON parser raises more than ``JSONDecodeError`` on bodies an attacker can send:
``RecursionError`` on nesting past the recursion limit (100,000 ``[``), and a plain
``ValueError`` on an integer past the 4,300 digits ``int()`` converts. Uncaught, either is a 500.
Nesting just under the recursion limit decodes, then breaks whatever walks the document later
(pydantic, ``json.dumps`` of a fingerprint) a few frames deeper: so the depth is capped far
below it, at more than any provider sends.
"""

from __future__ import annotations

import json
from typing import Any

from shared.errors import BadRequest

__all__ = ["MAX_DEPTH", "json_document"]

#: The deepest nesting of arrays and objects a body may have. Provider payloads nest about
#: ten levels (a Telegram reply inside a message, a WhatsApp message inside a change).
MAX_DEPTH = 100


def json_document(body: bytes) -> Any:
    """The JSON document ``body`` holds.

    Args:
        body: the raw request body, UTF-8 (or UTF-16/32, as JSON allows).

    Returns:
        The decoded document: a dict, list, str, int, float, bool or None.

    Raises:
        BadRequest: 400 naming the field ``body`` when it is not JSON, nests deeper than
            ``MAX_DEPTH``, or holds an integer too long to convert.
    """
    try:
        document = json.loads(body)
    except RecursionError:
        problem = f"nested deeper than {MAX_DEPTH} levels"
    except ValueError as exc:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors, as is int()'s digit limit.
        problem = str(exc)
    else:
        if _depth(document) <= MAX_DEPTH:
            return document
        problem = f"nested deeper than {MAX_DEPTH} levels"
    raise BadRequest("body is not valid JSON", detail=[{"field": "body", "problem": problem}])


def _depth(document: Any) -> int:
    """How many arrays and objects deep ``document`` nests; walked without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        pending.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest
