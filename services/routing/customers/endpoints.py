"""Customer events in: the CRM's signed webhook and the admin's CSV import."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from services.routing.customers import service
from services.routing.customers.schemas import (
    SOURCE_PATTERN,
    CustomerEventIn,
    CustomerEventOut,
    ImportReport,
    WebhookAccepted,
    csv_rows,
    webhook_events,
)
from services.routing.deps import AdminDep, DatabaseDep, SettingsDep, UnitOfWorkDep
from services.routing.models import webhook_message
from services.routing.settings import RoutingSettings
from shared.clock import utc_now
from shared.errors import BadRequest, NotFound, invalid_body
from shared.openapi import webhook
from shared.security import GenericDelivery, generic_webhook
from shared.webhook_ids import handled_before, remember_handled

router = APIRouter(tags=["customer events"])
admin_router = APIRouter(prefix="/admin/customers", tags=["admin"], dependencies=[AdminDep])


async def webhook_configured(settings: SettingsDep) -> None:
    """404 while no key is set: the webhook is off."""
    if not settings.generic_keys().keys:
        raise NotFound(
            "customer events are off: set ROUTING_GENERIC_SECRET or ROUTING_GENERIC_SOURCES"
        )


CustomerWebhook = Annotated[GenericDelivery, Depends(generic_webhook(RoutingSettings))]

#: An event as a CRM sends it, for the API docs.
EXAMPLE = {
    "id": "evt_1001",
    "source": "shop",
    "type": "order_placed",
    "occurred_at": "2026-11-30T09:15:00Z",
    "email": "ada@example.com",
    "external_id": "cus_42",
    "order_id": "ord_7",
    "amount": "49.90",
    "currency": "EUR",
}


@router.post(
    "/customers/events",
    status_code=202,
    response_model=WebhookAccepted,
    dependencies=[Depends(webhook_configured)],
    openapi_extra=webhook(
        signature="StandardWebhooks", body=CustomerEventIn | list[CustomerEventIn], example=EXAMPLE
    ),
)
async def customer_events(
    delivery: CustomerWebhook, uow: UnitOfWorkDep, database: DatabaseDep
) -> WebhookAccepted:
    """Take a CRM's customer event, or a JSON array of them, signed as Standard Webhooks sign."""
    try:
        events = webhook_events(delivery.body)
    except ValidationError as exc:
        raise invalid_body(exc, "event is invalid") from None
    for event in events:
        delivery.require_source(event.source)
    if await handled_before(database, webhook_message, delivery):
        async with uow:
            earlier = await service.replayed(uow, events=events)
        return WebhookAccepted(events=earlier, duplicate=True)
    at = utc_now()
    taken = await uow.run(service.take_webhook, events=events, at=at)
    await remember_handled(database, webhook_message, delivery, at)
    return WebhookAccepted(events=taken, duplicate=False)


@admin_router.post(
    "/import",
    response_model=ImportReport,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            },
        }
    },
)
async def import_customers(
    request: Request,
    uow: UnitOfWorkDep,
    source: Annotated[
        str, Query(pattern=SOURCE_PATTERN, description="The system the rows come from.")
    ],
) -> ImportReport:
    """Import customer events from a CSV (text/csv, or a multipart `file`); a report per row."""
    text = _decoded(await _csv_bytes(request))
    at = utc_now()
    rows = csv_rows(text, source=source)
    outcomes = await uow.run(service.take_rows, rows=rows, at=at)
    return ImportReport(
        source=source,
        accepted=sum(o.status == "accepted" for o in outcomes),
        duplicates=sum(o.status == "duplicate" for o in outcomes),
        refused=sum(o.status == "refused" for o in outcomes),
        rows=outcomes,
        received_at=at,
    )


async def _csv_bytes(request: Request) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        return await request.body()
    async with request.form(max_files=1, max_fields=10) as form:
        upload = form.get("file")
        if isinstance(upload, UploadFile):
            return await upload.read()
        if isinstance(upload, str):
            return upload.encode()
    raise BadRequest("send the CSV as the multipart field 'file'")


def _decoded(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the CSV must be UTF-8") from None


__all__ = ["CustomerEventOut", "admin_router", "router"]
