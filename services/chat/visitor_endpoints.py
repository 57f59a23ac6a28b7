"""The website chat API the widget uses, and the widget itself."""

from __future__ import annotations

import asyncio
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from services.chat import visitors
from services.chat.attributes import check_attributes
from services.chat.deps import DatabaseDep, HubDep, LimitsDep, ProducerDep, SettingsDep
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
from shared.errors import NotFound, PayloadTooLarge, invalid_body
from shared.service import read_body

router = APIRouter(tags=["website chat"])

WIDGET = files("services.chat") / "widget"
#: Message ids are Postgres BIGINTs.
LAST_MESSAGE_ID = 2**63 - 1
#: Messages of one page of history, and of one batch a stream sends.
PAGE_DEFAULT, PAGE_MAX = 50, 200


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
    token: str,
    after: Annotated[int, Query(ge=0, le=LAST_MESSAGE_ID)] = 0,
) -> None:
    """Live messages of the session: what came after `after`, then each new one as it comes."""
    try:
        chat = await visitors.find_session(database, token)
    except NotFound:
        # Accepted first: a browser only sees the close code of an open WebSocket.
        await websocket.accept()
        await websocket.close(code=4404, reason="no chat session has this token")
        return
    poll_s = settings.stream_poll_s
    news = hub.subscribe(chat["id"])
    receiving: asyncio.Task[str] | None = None
    await websocket.accept()
    try:
        receiving = asyncio.create_task(websocket.receive_text())
        while True:
            news.clear()
            while True:
                page = await visitors.messages_after(
                    database, session_id=chat["id"], after=after, limit=PAGE_MAX
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
                timeout=poll_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
            waking.cancel()
            if receiving in done:
                receiving.result()  # raises WebSocketDisconnect when the visitor left
                receiving = asyncio.create_task(websocket.receive_text())
    except WebSocketDisconnect:
        pass
    finally:
        hub.unsubscribe(chat["id"], news)
        if receiving is not None:
            receiving.cancel()


@router.get("/widget", response_class=HTMLResponse)
async def widget_page() -> HTMLResponse:
    """A page with the chat widget, to try it or to link to."""
    return HTMLResponse((WIDGET / "index.html").read_text())


@router.get("/widget.js")
async def widget_script() -> Response:
    """The embeddable widget: `<script src="https://chat.example.com/widget.js" defer></script>`."""
    return Response((WIDGET / "widget.js").read_text(), media_type="text/javascript")
