"""HTTP endpoints of the chat connector."""

from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import ValidationError

from services.chat import service
from services.chat.schemas import Accepted, GenericChatMessage
from services.chat.settings import ChatSettings
from shared.errors import Unauthorized, invalid_body
from shared.service import RuntimeDep, read_body
from shared.signatures import hmac_sha256_hex, signatures_match

router = APIRouter(tags=["chat"])


@router.post("/webhooks/generic", status_code=202, response_model=Accepted)
async def generic_webhook(
    request: Request,
    runtime: RuntimeDep,
    x_switchboard_signature: Annotated[str | None, Header()] = None,
) -> Accepted:
    """Accept one chat message signed with `X-Switchboard-Signature: sha256=<hex HMAC>`."""
    settings: ChatSettings = runtime.state["settings"]
    body = await read_body(request, settings.max_body_bytes)
    expected = "sha256=" + hmac_sha256_hex(settings.generic_secret.get_secret_value(), body)
    if not signatures_match(expected, x_switchboard_signature):
        raise Unauthorized("X-Switchboard-Signature is missing or does not match the body")
    try:
        message = GenericChatMessage.model_validate_json(body)
    except ValidationError as exc:
        raise invalid_body(exc, "message is invalid") from None
    event = service.normalize_generic(message, received_at=service.now())
    await service.publish_events(runtime.producer, [event])
    return Accepted(event_ids=[str(event.event_id)])
