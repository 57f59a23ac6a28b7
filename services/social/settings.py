"""Settings of the social connector (prefix ``SOCIAL_``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.outbound import OutboundSettings
from shared.privacy import PrivacySettings
from shared.settings import ServiceSettings


class SocialSettings(ServiceSettings, OutboundSettings, PrivacySettings):
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

    meta_graph_url: str = Field(
        default="https://graph.facebook.com/v21.0",
        description="Base URL of Meta's Graph API (WhatsApp Cloud API, Messenger, Instagram).",
    )
    meta_page_token: SecretStr = Field(
        default=SecretStr(""),
        description="Page access token Messenger and Instagram replies are sent with; empty: "
        "they fail with 'no outbound path configured'.",
    )
    whatsapp_token: SecretStr = Field(
        default=SecretStr(""),
        description="WhatsApp Cloud API access token; empty: WhatsApp replies fail with "
        "'no outbound path configured'.",
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org", description="Base URL of Telegram's Bot API."
    )
    telegram_bot_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bot token replies are sent with (sendMessage); empty: Telegram replies "
        "fail with 'no outbound path configured'.",
    )
    x_api_url: str = Field(default="https://api.x.com", description="Base URL of the X API.")
    x_bearer_token: SecretStr = Field(
        default=SecretStr(""),
        description="User-context OAuth 2.0 token of our X account (dm.write); empty: X "
        "replies fail with 'no outbound path configured'.",
    )
    retention_deliveries_days: float = Field(
        default=0, ge=0, description="Settled reply deliveries are deleted after this many days."
    )
