"""What the phone connector's endpoints depend on."""

from typing import Annotated

from fastapi import Depends

from services.phone.settings import PhoneSettings
from shared.outbox import OutboxRelay
from shared.service import DatabaseDep, ProducerDep, provided

__all__ = ["DatabaseDep", "ProducerDep", "RelayDep", "SettingsDep"]

SettingsDep = Annotated[PhoneSettings, Depends(provided(PhoneSettings))]
#: The relay of ``phone.outbox``, to wake once a call event was written there.
RelayDep = Annotated[OutboxRelay, Depends(provided(OutboxRelay))]
