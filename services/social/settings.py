"""Settings of the social connector (prefix ``SOCIAL_``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class SocialSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SOCIAL_", extra="ignore")

    meta_app_secret: SecretStr = Field(
        default=SecretStr("dev-meta-app-secret"),
        description="Meta app secret: HMAC-SHA256 key of X-Hub-Signature-256.",
    )
    meta_verify_token: SecretStr = Field(
        default=SecretStr("dev-meta-verify-token"),
        description="The verify token typed into the Meta webhook settings (GET handshake).",
    )
    x_consumer_secret: SecretStr = Field(
        default=SecretStr("dev-x-consumer-secret"),
        description="X app consumer secret: CRC answers and x-twitter-webhooks-signature.",
    )
    telegram_secret_token: SecretStr = Field(
        default=SecretStr("dev-telegram-secret-token"),
        description="setWebhook secret_token, echoed in X-Telegram-Bot-Api-Secret-Token.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
