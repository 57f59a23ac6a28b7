"""Reading providers' JSON answers without trusting their shape."""

from __future__ import annotations

from typing import Any

import httpx

__all__ = ["json_of"]


def json_of(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or an empty one when it is not JSON."""
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
