"""What the metrics service's endpoints depend on: settings, and who is asking."""

from typing import Annotated

from fastapi import Depends

from services.metrics.repository import credentials
from services.metrics.settings import MetricsSettings
from shared.auth import BearerToken, Principal, is_admin_token, token_sha256
from shared.clock import utc_now
from shared.errors import Unauthorized
from shared.events import Role
from shared.service import DatabaseDep, ProducerDep, provided

__all__ = [
    "DatabaseDep",
    "KpiReaderDep",
    "PrincipalDep",
    "ProducerDep",
    "SettingsDep",
    "SupervisorDep",
    "require_admin",
]

SettingsDep = Annotated[MetricsSettings, Depends(provided(MetricsSettings))]


async def current_principal(
    database: DatabaseDep, settings: SettingsDep, token: BearerToken
) -> Principal:
    """The admin (``METRICS_ADMIN_TOKEN``), or the holder of a token routing issued."""
    return await principal_of(database, settings, token)


async def principal_of(database: DatabaseDep, settings: SettingsDep, token: str) -> Principal:
    """Who holds ``token`` (401 when nobody does)."""
    if is_admin_token(settings.admin_token, token):
        return Principal(Role.ADMIN)
    async with database.transaction() as session:
        held = await credentials.holder(session, token_sha256(token), at=utc_now())
    if held is None:
        raise Unauthorized("unknown, expired or revoked token")
    return Principal(Role(held.role), held.agent_id)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


async def kpi_reader(principal: PrincipalDep) -> Principal:
    """Anyone who may read KPIs: people (an agent only their own figures) and machines."""
    return principal.require(Role.ADMIN, Role.SUPERVISOR, Role.SERVICE, Role.WALL, Role.AGENT)


async def supervisor(principal: PrincipalDep) -> Principal:
    """The admin or a supervisor."""
    return principal.require(Role.ADMIN, Role.SUPERVISOR)


async def require_admin(principal: PrincipalDep) -> None:
    """``Authorization: Bearer <METRICS_ADMIN_TOKEN>``, compared in constant time."""
    principal.require(Role.ADMIN)


KpiReaderDep = Annotated[Principal, Depends(kpi_reader)]
SupervisorDep = Annotated[Principal, Depends(supervisor)]
