"""The admin API of the console: sign-in links for agents, and canned responses."""

import uuid
from typing import Any

from fastapi import APIRouter, Response

from services.routing.console import sessions, workspace
from services.routing.console.schemas import (
    CannedCreate,
    CannedOut,
    CannedUpdate,
    SigninLinkOut,
)
from services.routing.deps import AdminDep, SettingsDep, UnitOfWorkDep

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[AdminDep])


@router.post("/agents/{agent_id}/signin-link", response_model=SigninLinkOut, status_code=201)
async def signin_link(agent_id: uuid.UUID, uow: UnitOfWorkDep, settings: SettingsDep) -> Any:
    """A one-time link that signs the agent into the console; short-lived, single use."""
    link = await uow.run(
        sessions.create_signin_link, agent_id=agent_id, ttl_s=settings.signin_link_ttl_s
    )
    return SigninLinkOut(url=f"/console/#signin={link.token}", expires_at=link.expires_at)


@router.post("/canned-responses", response_model=CannedOut, status_code=201)
async def create_canned(body: CannedCreate, uow: UnitOfWorkDep) -> Any:
    """A canned response for one queue (or every queue, without `queue`)."""
    return await uow.run(
        workspace.create_canned, queue=body.queue, shortcut=body.shortcut, text=body.text
    )


@router.get("/canned-responses", response_model=list[CannedOut])
async def list_canned(uow: UnitOfWorkDep, queue: str | None = None) -> Any:
    """Every canned response, or those a queue's agents see (its own and every queue's)."""
    async with uow:
        return await workspace.canned_responses(uow, queue=queue)


@router.patch("/canned-responses/{canned_id}", response_model=CannedOut)
async def update_canned(canned_id: uuid.UUID, body: CannedUpdate, uow: UnitOfWorkDep) -> Any:
    """Change a canned response's queue, shortcut or text."""
    changes: dict[str, str | None] = body.model_dump(exclude_unset=True)
    return await uow.run(workspace.update_canned, canned_id=canned_id, changes=changes)


@router.delete("/canned-responses/{canned_id}", status_code=204)
async def delete_canned(canned_id: uuid.UUID, uow: UnitOfWorkDep) -> Response:
    """Delete a canned response."""
    await uow.run(workspace.delete_canned, canned_id=canned_id)
    return Response(status_code=204)
