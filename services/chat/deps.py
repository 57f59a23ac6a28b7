"""What the chat connector's endpoints depend on, by type."""

from typing import Annotated

from fastapi import Depends

from services.chat.hub import Hub
from services.chat.limits import VisitorLimits
from services.chat.settings import ChatSettings
from shared.service import DatabaseDep, ProducerDep, provided

__all__ = ["DatabaseDep", "HubDep", "LimitsDep", "ProducerDep", "SettingsDep"]

SettingsDep = Annotated[ChatSettings, Depends(provided(ChatSettings))]
HubDep = Annotated[Hub, Depends(provided(Hub))]
LimitsDep = Annotated[VisitorLimits, Depends(provided(VisitorLimits))]
