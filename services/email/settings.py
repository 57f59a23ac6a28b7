"""Settings of the email connector (prefix ``EMAIL_``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.email.authentication import SenderTrust
from services.email.mime import ParseLimits
from shared.outbound import OutboundSettings
from shared.privacy import PrivacySettings
from shared.settings import ServiceSettings


class EmailSettings(ServiceSettings, OutboundSettings, PrivacySettings):
    model_config = SettingsConfigDict(env_prefix="EMAIL_", extra="ignore")

    mailgun_signing_key: SecretStr = Field(
        default=SecretStr("dev-mailgun-signing-key"),
        description="Mailgun's HTTP webhook signing key: HMAC-SHA256 key of timestamp+token.",
    )
    mailgun_timestamp_tolerance_s: float = Field(
        default=300.0,
        gt=0,
        le=20 * 365 * 86400,
        description="How old (or how far ahead) a Mailgun signature timestamp may be.",
    )
    sendgrid_username: str = Field(default="sendgrid", min_length=1)
    sendgrid_password: SecretStr = Field(
        default=SecretStr("dev-sendgrid-password"),
        description="Basic-auth password SendGrid Inbound Parse sends (user:pass@ in its URL).",
    )
    postmark_username: str = Field(default="postmark", min_length=1)
    postmark_password: SecretStr = Field(
        default=SecretStr("dev-postmark-password"),
        description="Basic-auth password of the Postmark inbound webhook URL.",
    )
    mime_token: SecretStr = Field(
        default=SecretStr("dev-mime-token"),
        description="Bearer token of the raw MIME endpoint.",
    )
    max_body_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    # Kafka refuses records over about 1 MB: text and stripped text, at up to 4 bytes a
    # character, must stay under it, so longer bodies are cut, with a parse warning.
    max_text_chars: int = Field(default=100_000, ge=1000)
    max_attachments: int = Field(default=200, ge=1)
    # Work an anonymous sender can cause: HTML to text takes about a second a megabyte.
    max_html_chars: int = Field(
        default=2_000_000,
        ge=1000,
        description="HTML read when a mail has no plain text; the rest is cut, with a warning.",
    )
    max_mime_parts: int = Field(
        default=500,
        ge=10,
        description="MIME parts of one message; a message with more is refused (422).",
    )

    date_skew_s: float = Field(
        default=300.0,
        gt=0,
        le=7 * 86400,
        description="How far a customer's Date header may be ahead of the time the mail is "
        "received (clock skew); further, occurred_at is the time received, with a warning.",
    )
    date_max_age_s: float = Field(
        default=86400.0,
        gt=0,
        le=365 * 86400,
        description="How far a customer's Date header may be behind the time the mail is "
        "received (time in transit); further, occurred_at is the time received, with a "
        "warning, so a backdated mail cannot lengthen its first-response time.",
    )
    authserv_ids: str = Field(
        default="",
        description="Comma-separated authserv-ids of the receiving servers whose "
        "Authentication-Results headers are believed (raw MIME and Postmark); empty: the "
        "topmost header, which the receiving server prepends.",
    )
    mailgun_verdict_headers: bool = Field(
        default=False,
        description="Mailgun marks inbound mail with X-Mailgun-Spf and "
        "X-Mailgun-Dkim-Check-Result (its spam filter set to mark with MIME headers); "
        "off: no Mailgun sender is verified, since a sender can write those headers too.",
    )
    max_form_fields: int = Field(
        default=1000,
        ge=10,
        description="Fields and files of a provider's form POST; a form with more gets 413.",
    )
    retention_threads_days: float = Field(
        default=0,
        ge=0,
        description="Thread index rows (Message-ID, subject, recipient) are deleted this many "
        "days after they were seen; a customer answering an older mail starts a new "
        "conversation. 0 keeps them.",
    )
    retention_deliveries_days: float = Field(
        default=0, ge=0, description="Settled reply deliveries are deleted after this many days."
    )

    def sender_trust(self) -> SenderTrust:
        """Which of the receiving side's authentication verdicts are believed."""
        ids = frozenset(i.strip() for i in self.authserv_ids.split(",") if i.strip())
        return SenderTrust(authserv_ids=ids, mailgun_headers=self.mailgun_verdict_headers)

    def parse_limits(self) -> ParseLimits:
        """The bounds the mail parsers work within."""
        return ParseLimits(
            max_attachments=self.max_attachments,
            max_html_chars=self.max_html_chars,
            max_mime_parts=self.max_mime_parts,
        )

    smtp_url: SecretStr = Field(
        default=SecretStr(""),
        description="Where replies are sent: smtp://user:pass@host:587 (STARTTLS when the "
        "server offers it) or smtps://user:pass@host:465 (implicit TLS); empty: email replies "
        "fail with 'no outbound path configured'.",
    )
    from_address: str = Field(
        default="",
        description="From address of replies when the address the customer wrote to is not "
        "known (a thread whose first message predates it).",
    )
