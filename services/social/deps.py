"""What the social connector's endpoints depend on, by type."""

from typing import Annotated

from fastapi import Depends

from services.social.settings import SocialSettings
from shared.service import ProducerDep, provided

__all__ = ["ProducerDep", "SettingsDep"]

SettingsDep = Annotated[SocialSettings, Depends(provided(SocialSettings))]
