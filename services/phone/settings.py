"""Settings of the phone connector (prefix ``PHONE_``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class PhoneSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PHONE_", extra="ignore")

    twilio_auth_token: SecretStr = Field(
        default=SecretStr("dev-twilio-auth-token"),
        description="Twilio auth token: the key of X-Twilio-Signature.",
    )
    public_base_url: str | None = Field(
        default=None,
        description=(
            "The URL Twilio calls, as Twilio sees it (e.g. https://hooks.example.com), when a "
            "proxy stands in between; unset: the URL of the request as received."
        ),
    )
    generic_secret: SecretStr = Field(
        default=SecretStr("dev-phone-generic-secret"),
        description="HMAC-SHA256 key of the generic call-log endpoint's X-Switchboard-Signature.",
    )
    cdr_token: SecretStr = Field(
        default=SecretStr("dev-phone-cdr-token"),
        description="Bearer token of the Asterisk CDR upload.",
    )
    voice_queue: str = Field(
        default="support", description="Twilio queue the voice webhook's TwiML enqueues callers in."
    )
    default_region: str = Field(
        default="US", description="Region assumed for phone numbers written without +country."
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    upload_chunk_rows: int = Field(default=500, ge=1, description="CDR rows published per batch.")
