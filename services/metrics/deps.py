"""What the metrics service's endpoints depend on."""

from typing import Annotated

from fastapi import Depends, Header

from services.metrics.settings import MetricsSettings
from shared.errors import Unauthorized
from shared.service import DatabaseDep, ProducerDep, provided
from shared.signatures import signatures_match

__all__ = ["DatabaseDep", "ProducerDep", "SettingsDep", "require_admin"]

SettingsDep = Annotated[MetricsSettings, Depends(provided(MetricsSettings))]


async def require_admin(
    settings: SettingsDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """``Authorization: Bearer <METRICS_ADMIN_TOKEN>``, compared in constant time."""
    expected = f"Bearer {settings.admin_token.get_secret_value()}"
    if not signatures_match(expected, authorization):
        raise Unauthorized("an admin bearer token is required")
