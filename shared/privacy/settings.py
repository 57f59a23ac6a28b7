"""The privacy settings a service's settings class inherits (under the service's prefix):
the erasure consumer's group and the retention sweeper's pace, and the pseudonym secret,
which is one for the whole deployment. Each service adds one ``retention_<kind>_days``
per kind of data it keeps."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

__all__ = ["PrivacySettings"]


class PrivacySettings(BaseModel):
    """Mixed into a service's settings: ``CHAT_PRIVACY_GROUP``, ``CHAT_RETENTION_BATCH``..."""

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
