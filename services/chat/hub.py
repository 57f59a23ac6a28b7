"""Live delivery to the widget connections open on this instance."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from typing import Any


class Hub:
    """Fans a session's new messages out to every connection that session has open here."""

    def __init__(self) -> None:
        self._listeners: dict[uuid.UUID, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def subscribe(self, session_id: uuid.UUID) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._listeners[session_id].add(queue)
        return queue

    def unsubscribe(self, session_id: uuid.UUID, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._listeners[session_id].discard(queue)
        if not self._listeners[session_id]:
            del self._listeners[session_id]

    def push(self, session_id: uuid.UUID, message: dict[str, Any]) -> None:
        for queue in self._listeners.get(session_id, ()):
            # A connection this far behind reloads the history when it reconnects.
            if not queue.full():
                queue.put_nowait(message)
