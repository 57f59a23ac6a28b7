"""Wakes the widget connections open on this instance when their session has news."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict


class Hub:
    """One wake-up per connection: the connection then reads what is new from Postgres.

    The database stays the one source of the messages, so a connection sees them
    in order and once, whichever instance stored them.
    """

    def __init__(self) -> None:
        self._listeners: dict[uuid.UUID, set[asyncio.Event]] = defaultdict(set)

    def subscribe(self, session_id: uuid.UUID) -> asyncio.Event:
        news = asyncio.Event()
        self._listeners[session_id].add(news)
        return news

    def unsubscribe(self, session_id: uuid.UUID, news: asyncio.Event) -> None:
        self._listeners[session_id].discard(news)
        if not self._listeners[session_id]:
            del self._listeners[session_id]

    def notify(self, session_id: uuid.UUID) -> None:
        for news in self._listeners.get(session_id, ()):
            news.set()
