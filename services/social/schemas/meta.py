"""Meta's webhook envelope: one endpoint for Messenger, Instagram and WhatsApp, told apart by
the ``object`` field."""

from __future__ import annotations

from pydantic import ValidationError

from services.social.schemas.common import json_object
from services.social.schemas.messenger import MessagingWebhook
from services.social.schemas.whatsapp import WhatsAppWebhook
from shared.errors import BadRequest, invalid_body

MetaWebhook = MessagingWebhook | WhatsAppWebhook

_META_MODELS: dict[str, type[MessagingWebhook] | type[WhatsAppWebhook]] = {
    "page": MessagingWebhook,
    "instagram": MessagingWebhook,
    "whatsapp_business_account": WhatsAppWebhook,
}


def parse_meta(body: bytes) -> MetaWebhook:
    """A Meta webhook, shaped by its ``object`` (page, instagram, whatsapp_business_account)."""
    document = json_object(body)
    kind = document.get("object")
    model = _META_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        expected = ", ".join(_META_MODELS)
        raise BadRequest(
            "unsupported Meta webhook object",
            detail=[{"field": "object", "problem": f"must be one of {expected}; got {kind!r}"}],
        )
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise invalid_body(exc, f"body is not a valid {kind} webhook") from None
