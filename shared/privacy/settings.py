"""The privacy settings every service shares: the pseudonym secret, the erasure consumer's
group and the retention sweeper's pace. Each service subclasses them with its prefix and
adds one ``retention_<kind>_days`` per kind of data it keeps."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings

__all__ = ["PrivacySettings"]


class PrivacySettings(ServiceSettings):
    """Subclasses set ``env_prefix``; the pseudonym secret is one for the whole deployment."""

    pseudonym_secret: SecretStr = Field(
        default=SecretStr("dev-pseudonym-secret"),
        validation_alias="SWITCHBOARD_PSEUDONYM_SECRET",
        description="Key of the HMAC that turns erased values into pseudonyms; the same in "
        "every service, so that their pseudonyms of one value agree.",
    )
    privacy_group: str = Field(
        default="",
        description="Consumer group on privacy.v1; empty means <service>-privacy.",
    )
    retention_sweep_interval_s: float = Field(
        default=3600.0, gt=0, description="How often the retention sweeper runs."
    )
    retention_batch: int = Field(
        default=1000, ge=1, description="Rows one sweeper transaction deletes or changes at most."
    )
