"""Settings of the chat connector (prefix ``CHAT_``)."""

from ipaddress import IPv4Network, IPv6Network, ip_network

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.outbound import OutboundSettings
from shared.privacy import PrivacySettings
from shared.security import GenericWebhookSettings
from shared.settings import ServiceSettings

IPNetwork = IPv4Network | IPv6Network


class ChatSettings(ServiceSettings, OutboundSettings, GenericWebhookSettings, PrivacySettings):
    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    generic_secret: SecretStr = Field(
        default=SecretStr("dev-generic-secret"),
        description="Standard Webhooks secret (whsec_<base64>) of the generic chat webhook's "
        "key 'default', which may post the sources of CHAT_GENERIC_SECRET_SOURCES.",
    )
    slack_signing_secret: SecretStr = Field(
        default=SecretStr("dev-slack-signing-secret"),
        description="Slack app signing secret: the key of X-Slack-Signature.",
    )
    slack_tolerance_s: int = Field(
        default=300, ge=1, description="Oldest X-Slack-Request-Timestamp accepted, in seconds."
    )
    slack_publish_timeout_s: float = Field(
        default=2.0,
        gt=0,
        lt=3,
        description="How long a Slack event waits for the broker before it is answered 503 "
        "(Slack wants an answer within 3 s); KAFKA_PUBLISH_TIMEOUT_S when that is shorter.",
    )
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    max_message_chars: int = Field(default=4000, ge=1, description="Longest visitor message.")
    idle_timeout_s: float = Field(
        default=1800, gt=0, description="A visitor silent this long has left the chat."
    )
    idle_check_interval_s: float = Field(default=15, gt=0)
    replies_group: str = Field(
        default="chat-replies",
        description=(
            "Consumer group reading agents' replies. Instances share it: the one that reads a "
            "reply stores it, and every widget connection finds it within stream_poll_s."
        ),
    )
    widget_origins: str = Field(
        default="*",
        description=(
            "Comma-separated origins of the sites that embed the widget (CORS on /chat/*), "
            "or * for any site."
        ),
    )
    stream_poll_s: float = Field(
        default=2,
        gt=0,
        description="How often a widget connection looks for replies another instance stored.",
    )

    # Floods of the public visitor API (each instance counts on its own: see limits.py).
    sessions_per_minute_per_address: int = Field(
        default=10, ge=1, description="Chat sessions one client address may open a minute."
    )
    sessions_per_minute_per_origin: int = Field(
        default=600,
        ge=1,
        description="Chat sessions all visitors of one site (Origin header) may open a minute.",
    )
    messages_per_minute_per_session: int = Field(
        default=60, ge=1, description="Messages a visitor may send a minute in one session."
    )
    messages_per_minute_per_address: int = Field(
        default=120, ge=1, description="Visitor messages one client address may send a minute."
    )
    messages_per_minute_per_origin: int = Field(
        default=6000, ge=1, description="Visitor messages all visitors of one site may send."
    )
    streams_per_token: int = Field(
        default=3, ge=1, description="WebSocket streams open at once on one session token."
    )
    streams_per_address: int = Field(
        default=20, ge=1, description="WebSocket streams open at once from one client address."
    )
    max_stream_message_bytes: int = Field(
        default=4096, ge=64, description="Largest WebSocket message a widget may send (1009 past)."
    )
    trusted_proxies: str = Field(
        default="",
        description=(
            "Comma-separated addresses or networks of the proxies in front of the connector, "
            "whose X-Forwarded-For is believed; empty: the socket's peer is the client."
        ),
    )
    max_attributes: int = Field(default=20, ge=0, description="Visitor attributes a session holds.")
    max_attribute_key_chars: int = Field(default=64, ge=1)
    max_attribute_value_chars: int = Field(default=256, ge=1)
    max_attributes_bytes: int = Field(
        default=4096, ge=1, description="All visitor attributes together, keys and values, UTF-8."
    )

    slack_api_url: str = Field(
        default="https://slack.com/api", description="Base URL of Slack's Web API."
    )
    slack_bot_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bot token replies are posted with (chat.postMessage); empty: Slack "
        "replies fail with 'no outbound path configured'.",
    )
    generic_outbound_url: str = Field(
        default="",
        description="Where replies to generic chat conversations are POSTed (Standard "
        "Webhooks signature); empty: they fail with 'no outbound path configured'.",
    )
    generic_outbound_secret: SecretStr | None = Field(
        default=None,
        description="Key of the replies' webhook-signature; unset: CHAT_GENERIC_SECRET.",
    )
    retention_sessions_days: float = Field(
        default=0,
        ge=0,
        description="Website chat sessions (visitor details, messages) are deleted this many "
        "days after their last activity; 0 keeps them.",
    )
    retention_deliveries_days: float = Field(
        default=0, ge=0, description="Settled reply deliveries are deleted after this many days."
    )

    @property
    def trusted_proxy_networks(self) -> list[IPNetwork]:
        return [ip_network(net.strip()) for net in self.trusted_proxies.split(",") if net.strip()]

    @property
    def widget_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.widget_origins.split(",") if origin.strip()]
