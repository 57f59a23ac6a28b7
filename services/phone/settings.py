"""Settings of the phone connector (prefix ``PHONE_``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.phone.asterisk import MAX_LINE_BYTES
from shared.outbound import OutboundSettings
from shared.privacy import PrivacySettings
from shared.security import GenericWebhookSettings
from shared.settings import ServiceSettings


class PhoneSettings(ServiceSettings, OutboundSettings, GenericWebhookSettings, PrivacySettings):
    model_config = SettingsConfigDict(env_prefix="PHONE_", extra="ignore")

    twilio_auth_token: SecretStr = Field(
        default=SecretStr("dev-twilio-auth-token"),
        description="Twilio auth token: the key of X-Twilio-Signature, and the password of "
        "the calls to Twilio's REST API.",
    )
    public_base_url: str | None = Field(
        default=None,
        description=(
            "The URL Twilio calls, as Twilio sees it (e.g. https://hooks.example.com), when a "
            "proxy stands in between; unset: the URL of the request as received. Replies by "
            "SMS ask Twilio for status callbacks at this base only when it is set."
        ),
    )
    generic_secret: SecretStr = Field(
        default=SecretStr("dev-phone-generic-secret"),
        description="Standard Webhooks secret (whsec_<base64>) of the generic call log's key "
        "'default', which may post the sources of PHONE_GENERIC_SECRET_SOURCES.",
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
    cdr_max_line_bytes: int = Field(
        default=MAX_LINE_BYTES,
        ge=1024,
        description="Longest CDR line read; a longer one refuses the upload with 413 at once.",
    )
    cdr_report_rows: int = Field(
        default=20_000,
        ge=1,
        description="Rows a CDR upload's report lists one by one; the rest are only counted, so "
        "any upload is reported in the same memory.",
    )

    twilio_api_url: str = Field(
        default="https://api.twilio.com", description="Base URL of Twilio's REST API."
    )
    twilio_account_sid: str = Field(
        default="",
        description="Twilio account (AC...) that sends SMS replies and redirects calls; empty: "
        "they fail with 'no outbound path configured'.",
    )
    twilio_from_number: str = Field(
        default="",
        description="Number SMS replies come from when the customer's message named none.",
    )
    generic_outbound_url: str = Field(
        default="",
        description="Where replies to generic call sources are POSTed (Standard Webhooks "
        "signature); empty: they fail with 'no outbound path configured'.",
    )
    generic_outbound_secret: SecretStr | None = Field(
        default=None,
        description="Key of the replies' webhook-signature; unset: PHONE_GENERIC_SECRET.",
    )
    accepted_group: str = Field(
        default="phone-accepted-calls",
        description="Consumer group reading routing's accepted and out-of-hours steps, to "
        "connect Twilio callers to their agents or send them to voicemail.",
    )
    redirect_give_up_s: float = Field(
        default=30,
        gt=0,
        description="How long a call's redirect to its agent is retried (429, 5xx, timeouts) "
        "before it is given up: the caller is waiting meanwhile.",
    )
    closed_message: str = Field(
        default="We are closed at the moment. Please leave a message after the tone and we "
        "will call you back.",
        min_length=1,
        max_length=2000,
        description="What a caller hears out of hours when the queue has no closed message of "
        "its own, before the voicemail.",
    )
    voicemail_max_seconds: int = Field(
        default=120, ge=5, le=3600, description="Longest voicemail recorded out of hours."
    )
    retention_calls_days: float = Field(
        default=0,
        ge=0,
        description="Call rows (what was published of each call) and call redirects are "
        "deleted this many days after the call began; 0 keeps them.",
    )
    retention_deliveries_days: float = Field(
        default=0, ge=0, description="Settled reply deliveries are deleted after this many days."
    )
