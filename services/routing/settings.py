"""Settings of the routing service (prefix ``ROUTING_``)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.privacy import PrivacySettings
from shared.security import DEFAULT_KEY, GenericKeys, GenericWebhookSettings
from shared.settings import ServiceSettings

#: Every provider a connector delivers agents' replies for: the website chat and generic chat
#: sources, Slack, the social networks, the email providers, Twilio SMS and generic call
#: sources. A Twilio voice call or an Asterisk call is answered by accepting its offer.
REPLY_PROVIDERS = (
    "webchat,generic,slack,whatsapp,messenger,instagram,telegram,x,"
    "mailgun,sendgrid,postmark,mime,twilio_sms"
)


class RoutingSettings(ServiceSettings, PrivacySettings, GenericWebhookSettings):
    model_config = SettingsConfigDict(env_prefix="ROUTING_", extra="ignore")

    generic_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Standard Webhooks secret (whsec_<base64>) of the customer-event webhook "
        "(POST /customers/events), key 'default', which may post the sources of "
        "ROUTING_GENERIC_SECRET_SOURCES. Empty (and no ROUTING_GENERIC_SOURCES): the webhook "
        "is off and answers 404.",
    )

    admin_token: SecretStr = Field(
        default=SecretStr("dev-admin-token"),
        description="Bearer token of the admin endpoints; several comma-separated during a "
        "rotation (add the new one, move clients over, remove the old one).",
    )
    survey_secret: SecretStr = Field(
        default=SecretStr("dev-survey-secret"),
        validation_alias="SWITCHBOARD_SURVEY_SECRET",
        description="Signs the survey tokens of resolved conversations; metrics checks them "
        "with the same secret.",
    )
    survey_valid_s: int = Field(
        default=14 * 24 * 3600, ge=60, description="How long a survey token can be used."
    )
    survey_link_base: str = Field(
        default="",
        max_length=1000,
        pattern=r"^(https?://\S+)?$",
        description="The survey page a queue's survey question links to; the signed token is "
        "added as ?token=. Empty: the question carries no link ({link} becomes empty).",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Request body limit of every endpoint (413)."
    )
    consumer_group: str = Field(
        default="routing", min_length=1, description="Consumer group on interactions.v1."
    )
    offer_timeout_s: float = Field(
        default=30.0, gt=0, description="How long an offer waits, unless its queue sets one."
    )
    timeouts_before_away: int = Field(
        default=3, ge=1, description="Offers an agent lets time out in a row before going away."
    )
    sticky_window_s: float = Field(
        default=7 * 24 * 3600.0, ge=0, description="How long a customer's last agent is sticky."
    )
    reopen_window_s: float = Field(
        default=72 * 3600.0,
        ge=0,
        description="A resolved conversation reopens on an inbound message within this time.",
    )
    match_interval_s: float = Field(
        default=1.0, gt=0, description="How often the background worker looks for work."
    )
    match_batch: int = Field(
        default=200, ge=1, description="Queued conversations one matching transaction considers."
    )
    stream_heartbeat_s: float = Field(
        default=15.0, gt=0, description="Comment line the agent stream sends when idle."
    )
    stream_replay_s: float = Field(
        default=3600.0,
        gt=0,
        description="How long agent notices are kept for a reconnecting stream (Last-Event-ID).",
    )
    reply_providers: str = Field(
        default=REPLY_PROVIDERS,
        description="Comma-separated providers (or patterns such as chat-* or *) whose "
        "conversations agents can reply to, their connector having an outbound path; a reply "
        "to any other, or to a live call, answers 409.",
    )
    stream_max_s: float = Field(
        default=300.0,
        gt=0,
        description="An agent stream ends after this long (the browser reconnects), so a "
        "shutdown never waits on it for longer.",
    )
    retention_messages_days: float = Field(
        default=0,
        ge=0,
        description="Transcript messages (and the texts of agents' replies) are deleted this "
        "many days after they were written; 0 keeps them.",
    )
    signin_link_ttl_s: float = Field(
        default=600.0, gt=0, description="How long a console sign-in link can be used (once)."
    )
    console_session_ttl_s: float = Field(
        default=12 * 3600.0, gt=0, description="How long a console session lasts after sign-in."
    )
    console_origin: str = Field(
        default="",
        description="The console's public origin (https://support.example.com) when a proxy "
        "changes scheme or host: requests made with the session cookie must come from it. "
        "Empty: the origin the request was made to.",
    )

    def _read_generic_keys(self) -> GenericKeys:
        # An empty secret is no key: anyone could sign with it.
        keys = super()._read_generic_keys()
        if self.generic_secret.get_secret_value():
            return keys
        return GenericKeys(tuple(k for k in keys.keys if k.name != DEFAULT_KEY))

    @property
    def reply_provider_set(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.reply_providers.split(",") if p.strip())
