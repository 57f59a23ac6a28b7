"""What one HTTP request did, for its log line: its id, the events it published.

The request middleware (:class:`shared.observability.RequestMetricsMiddleware`) opens a
:class:`RequestNote` for each request; :func:`note_events` (called when interaction
events are published) adds their ids and conversation keys; the middleware logs the
note once the request is answered. Outside a request there is no note and nothing is kept.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "RequestNote",
    "close_request",
    "current_request",
    "note_events",
    "open_request",
    "request_id_from",
]

#: A request id a client may choose: short, and of characters safe in a log line.
_CLIENT_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class _Event(Protocol):
    @property
    def event_id(self) -> uuid.UUID: ...

    @property
    def conversation_key(self) -> str | None: ...


@dataclass(slots=True)
class RequestNote:
    request_id: str
    event_ids: list[str] = field(default_factory=list)
    conversation_keys: list[str] = field(default_factory=list)


_current: ContextVar[RequestNote | None] = ContextVar("switchboard_request", default=None)


def current_request() -> RequestNote | None:
    """The note of the request being answered, or None outside a request."""
    return _current.get()


def open_request(request_id: str) -> tuple[RequestNote, Token[RequestNote | None]]:
    """Start noting a request; the token given back closes it (:func:`close_request`)."""
    note = RequestNote(request_id)
    return note, _current.set(note)


def close_request(token: Token[RequestNote | None]) -> None:
    _current.reset(token)


def request_id_from(header: bytes | None) -> str:
    """The client's ``X-Request-ID`` when it is a sane one, else a new id."""
    if header:
        given = header.decode("latin-1")
        if _CLIENT_REQUEST_ID.fullmatch(given):
            return given
    return uuid.uuid4().hex


def note_events(events: Iterable[_Event]) -> None:
    """Add published events to the current request's note (nothing outside a request)."""
    note = _current.get()
    if note is None:
        return
    for event in events:
        note.event_ids.append(str(event.event_id))
        key = event.conversation_key
        if key and key not in note.conversation_keys:
            note.conversation_keys.append(key)
