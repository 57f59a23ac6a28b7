"""Settings of the chat connector (prefix ``CHAT_``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ChatSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    generic_secret: SecretStr = Field(
        default=SecretStr("dev-generic-secret"),
        description="HMAC-SHA256 key of the generic chat webhook's X-Switchboard-Signature.",
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
