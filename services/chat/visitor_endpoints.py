"""The website chat API the widget uses, and the widget itself."""

from __future__ import annotations

import asyncio
import uuid
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.status import WS_1009_MESSAGE_TOO_BIG as MESSAGE_TOO_BIG
from starlette.types import Message

from services.chat import visitors
from services.chat.attributes import check_attributes
from services.chat.deps import DatabaseDep, HubDep, LimitsDep, ProducerDep, SettingsDep
from services.chat.hub import Hub
from services.chat.schemas import (
    ChatMessage,
    History,
    MessageSent,
    NewSession,
    SessionInfo,
    SessionOpened,
    VisitorMessage,
)
from services.chat.security import session_token
from services.chat.settings import ChatSettings
from shared.db import Database
from shared.errors import NotFound, PayloadTooLarge, invalid_body
from shared.service import read_body

router = APIRouter(tags=["website chat"])

WIDGET = files("services.chat") / "widget"
#: Message ids are Postgres BIGINTs.
LAST_MESSAGE_ID = 2**63 - 1
#: Messages of one page of history, and of one batch a stream sends.
PAGE_DEFAULT, PAGE_MAX = 50, 200
#: The WebSocket close codes of a refused stream (4000-4999 are the application's own).
NO_SUCH_SESSION, TOO_MANY_STREAMS = 4404, 4429


@router.post("/chat/sessions", status_code=201, response_model=SessionOpened)
async def open_session(
    request: Request, settings: SettingsDep, database: DatabaseDep, limits: LimitsDep
) -> SessionOpened:
    """Open a chat: answers the session's token, the visitor's only key to it."""
    limits.admit_session(address=limits.address_of(request), origin=request.headers.get("origin"))
    body = await read_body(request, settings.max_body_bytes)
    try:
        new = NewSession.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise invalid_body(exc, "session request is invalid") from None
    check_attributes(new.attributes, settings)
    session_id, token = await visitors.open_session(
        database,
        name=new.name,
        email=new.email,
        page_url=new.page_url,
        attributes=new.attributes,
    )
    return SessionOpened(
        session_id=str(session_id),
        token=token,
        conversation_key=visitors.conversation_key(session_id),
    )


@router.get("/chat/session", response_model=SessionInfo)
async def session_info(
    database: DatabaseDep, authorization: Annotated[str | None, Header()] = None
) -> SessionInfo:
    """The visitor's own session (404 for an unknown token)."""
    chat = await visitors.find_session(database, session_token(authorization))
    return SessionInfo(
        session_id=str(chat["id"]),
        conversation_key=chat["conversation_key"],
        closed=chat["closed_at"] is not None,
    )


@router.post("/chat/messages", status_code=202, response_model=MessageSent)
async def send_message(
    request: Request,
    settings: SettingsDep,
    database: DatabaseDep,
    producer: ProducerDep,
    hub: HubDep,
    limits: LimitsDep,
    authorization: Annotated[str | None, Header()] = None,
) -> MessageSent:
    """Send a visitor's message; 202 once the broker acknowledged it."""
    token = session_token(authorization)
    limits.admit_message(
        token=token, address=limits.address_of(request), origin=request.headers.get("origin")
    )
    body = await read_body(request, settings.max_body_bytes)
    try:
        message = VisitorMessage.model_validate_json(body)
    except ValidationError as exc:
        raise invalid_body(exc, "message is invalid") from None
    if len(message.text) > settings.max_message_chars:
        raise PayloadTooLarge(f"a message holds at most {settings.max_message_chars} characters")
    event, view = await visitors.send_message(
        database,
        producer,
        hub,
        token=token,
        text=message.text,
        client_message_id=message.client_message_id,
        browser_language=message.language,
    )
    return MessageSent(event_id=str(event.event_id), message=ChatMessage(**view) if view else None)


@router.get("/chat/messages", response_model=History)
async def read_messages(
    database: DatabaseDep,
    after: Annotated[
        int, Query(ge=0, le=LAST_MESSAGE_ID, description="Only messages after this id.")
    ] = 0,
    limit: Annotated[
        int, Query(ge=1, le=PAGE_MAX, description="Messages of this page at most.")
    ] = PAGE_DEFAULT,
    authorization: Annotated[str | None, Header()] = None,
) -> History:
    """A page of the session's messages, the visitor's and the agents', after a message id."""
    token = session_token(authorization)
    rows, more = await visitors.history(database, token=token, after=after, limit=limit)
    return History(
        messages=[ChatMessage(**row) for row in rows],
        next_after=rows[-1]["id"] if more else None,
    )


@router.post("/chat/close")
async def close_chat(
    database: DatabaseDep,
    producer: ProducerDep,
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, bool]:
    """The visitor leaves: publishes `customer.left` (an abandon if no agent answered yet)."""
    closed = await visitors.leave(database, producer, token=session_token(authorization))
    return {"closed": closed}


@router.websocket("/chat/stream")
async def stream(
    websocket: WebSocket,
    database: DatabaseDep,
    hub: HubDep,
    settings: SettingsDep,
    limits: LimitsDep,
    token: str,
    after: Annotated[int, Query(ge=0, le=LAST_MESSAGE_ID)] = 0,
) -> None:
    """Live messages of the session: what came after `after`, then each new one as it comes."""
    # Each refusal is accepted first: a browser only sees the close code of an open WebSocket.
    try:
        chat = await visitors.find_session(database, token)
    except NotFound:
        await websocket.accept()
        await websocket.close(code=NO_SUCH_SESSION, reason="no chat session has this token")
        return
    address = limits.address_of(websocket)
    if not limits.streams_per_address.try_open(address):
        await websocket.accept()
        await websocket.close(code=TOO_MANY_STREAMS, reason="too many streams from this address")
        return
    session = str(chat["id"])
    try:
        if not limits.streams_per_token.try_open(session):
            await websocket.accept()
            await websocket.close(code=TOO_MANY_STREAMS, reason="too many streams of this session")
            return
        try:
            await _stream(websocket, database, hub, settings, chat["id"], after)
        finally:
            limits.streams_per_token.close(session)
    finally:
        limits.streams_per_address.close(address)


async def _stream(
    websocket: WebSocket,
    database: Database,
    hub: Hub,
    settings: ChatSettings,
    session_id: uuid.UUID,
    after: int,
) -> None:
    news = hub.subscribe(session_id)
    receiving: asyncio.Task[Message] | None = None
    await websocket.accept()
    try:
        receiving = asyncio.create_task(websocket.receive())
        while True:
            news.clear()
            while True:
                page = await visitors.messages_after(
                    database, session_id=session_id, after=after, limit=PAGE_MAX
                )
                for message in page:
                    await websocket.send_json(message)
                    after = message["id"]
                if len(page) < PAGE_MAX:
                    break
            # Woken by this instance's news, or after a while for replies another instance stored.
            waking = asyncio.create_task(news.wait())
            done, _ = await asyncio.wait(
                {waking, receiving},
                timeout=settings.stream_poll_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            waking.cancel()
            if receiving in done:
                # The widget sends nothing it needs read; what comes is only bounded.
                received = receiving.result()
                if received["type"] == "websocket.disconnect":
                    return
                if _size(received) > settings.max_stream_message_bytes:
                    await websocket.close(code=MESSAGE_TOO_BIG, reason="message too big")
                    return
                receiving = asyncio.create_task(websocket.receive())
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(session_id, news)
        if receiving is not None:
            receiving.cancel()


def _size(received: Message) -> int:
    text: str | None = received.get("text")
    data: bytes | None = received.get("bytes")
    return len(text.encode()) if text is not None else len(data or b"")


@router.get("/widget", response_class=HTMLResponse)
async def widget_page() -> HTMLResponse:
    """A page with the chat widget, to try it or to link to."""
    return HTMLResponse((WIDGET / "index.html").read_text())


@router.get("/widget.js")
async def widget_script() -> Response:
    """The embeddable widget: `<script src="https://chat.example.com/widget.js" defer></script>`."""
    return Response((WIDGET / "widget.js").read_text(), media_type="text/javascript")
