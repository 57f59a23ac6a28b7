"""Webhook endpoints of the chat connector: Slack and the generic chat webhook."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import ValidationError

from services.chat import service, slack
from services.chat.schemas import Accepted, generic_messages
from services.chat.settings import ChatSettings
from shared.errors import Unauthorized, invalid_body
from shared.service import Runtime, RuntimeDep, read_body
from shared.signatures import hmac_sha256_hex, signatures_match

router = APIRouter(tags=["chat webhooks"])


def settings_of(runtime: Runtime) -> ChatSettings:
    settings: ChatSettings = runtime.state["settings"]
    return settings


@router.post("/webhooks/generic", status_code=202, response_model=Accepted)
async def generic_webhook(
    request: Request,
    runtime: RuntimeDep,
    x_switchboard_signature: Annotated[str | None, Header()] = None,
) -> Accepted:
    """Accept a chat message, or `{"messages": [...]}`, signed with `X-Switchboard-Signature`."""
    settings = settings_of(runtime)
    body = await read_body(request, settings.max_body_bytes)
    expected = "sha256=" + hmac_sha256_hex(settings.generic_secret.get_secret_value(), body)
    if not signatures_match(expected, x_switchboard_signature):
        raise Unauthorized("X-Switchboard-Signature is missing or does not match the body")
    try:
        messages = generic_messages(body)
    except ValidationError as exc:
        raise invalid_body(exc, "message is invalid") from None
    received_at = service.now()
    events = [service.normalize_generic(m, received_at=received_at) for m in messages]
    await service.publish_events(runtime.producer, events)
    return Accepted(event_ids=[str(event.event_id) for event in events])


@router.post("/webhooks/slack")
async def slack_events(
    request: Request,
    runtime: RuntimeDep,
    x_slack_request_timestamp: Annotated[str | None, Header()] = None,
    x_slack_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Slack Events API: URL verification and message events; retries publish nothing new."""
    settings = settings_of(runtime)
    body = await read_body(request, settings.max_body_bytes)
    slack.verify(
        secret=settings.slack_signing_secret.get_secret_value(),
        body=body,
        timestamp=x_slack_request_timestamp,
        signature=x_slack_signature,
        now=service.now(),
        tolerance_s=settings.slack_tolerance_s,
    )
    return await service.receive_slack(
        runtime.database, runtime.producer, body=body, received_at=service.now()
    )
