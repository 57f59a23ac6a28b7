"""Settings of the metrics service (prefix ``METRICS_``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.privacy import PrivacySettings
from shared.settings import ServiceSettings


class MetricsSettings(ServiceSettings, PrivacySettings):
    model_config = SettingsConfigDict(env_prefix="METRICS_", extra="ignore")

    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Request body limit of every endpoint (413)."
    )
    consumer_group: str = Field(
        default="metrics", description="Consumer group of interactions.v1 and routing.v1."
    )
    # Service-level thresholds T per channel. The within-T counts are kept in the
    # buckets, so changing one takes effect for past data after POST /admin/rebuild.
    service_level_phone_s: float = Field(default=20, gt=0)
    service_level_chat_s: float = Field(default=60, gt=0)
    service_level_social_s: float = Field(default=3600, gt=0)
    service_level_email_s: float = Field(default=4 * 3600, gt=0)
    short_abandon_s: float = Field(
        default=5, ge=0, description="Abandons under this wait are short abandons."
    )
    repeat_window_s: float = Field(
        default=7 * 86400,
        gt=0,
        description="A resolved conversation is a first-contact resolution when its contact "
        "opens no other conversation within this many seconds of the resolve.",
    )
    gauge_refresh_s: float = Field(default=5, gt=0, description="How often gauges are refreshed.")
    dashboard_refresh_s: int = Field(default=30, ge=1, description="The dashboard's refresh.")
    admin_token: SecretStr = Field(
        default=SecretStr("dev-metrics-admin-token"),
        description="Bearer token of the admin (rebuild, every KPI); several comma-separated "
        "during a rotation.",
    )

    survey_secret: SecretStr = Field(
        default=SecretStr("dev-survey-secret"),
        validation_alias="SWITCHBOARD_SURVEY_SECRET",
        description="Checks the survey tokens routing issues when it resolves a conversation.",
    )
    retention_keys_days: float = Field(
        default=0,
        ge=0,
        description="Conversation keys of facts opened this many days ago become pseudonyms "
        "(the numbers stay); 0 keeps them.",
    )

    def service_level_ms(self) -> dict[str, int]:
        """Each channel's threshold T in milliseconds."""
        return {
            "phone": round(self.service_level_phone_s * 1000),
            "chat": round(self.service_level_chat_s * 1000),
            "social": round(self.service_level_social_s * 1000),
            "email": round(self.service_level_email_s * 1000),
        }
