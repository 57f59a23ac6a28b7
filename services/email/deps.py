"""What the email connector's endpoints depend on."""

from typing import Annotated

from fastapi import Depends

from services.email.settings import EmailSettings
from shared.service import DatabaseDep, ProducerDep, provided

__all__ = ["DatabaseDep", "ProducerDep", "SettingsDep"]

SettingsDep = Annotated[EmailSettings, Depends(provided(EmailSettings))]
