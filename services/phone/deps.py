"""What the phone connector's endpoints depend on."""

from typing import Annotated

from fastapi import Depends

from services.phone.settings import PhoneSettings
from shared.service import DatabaseDep, ProducerDep, provided

__all__ = ["DatabaseDep", "ProducerDep", "SettingsDep"]

SettingsDep = Annotated[PhoneSettings, Depends(provided(PhoneSettings))]
