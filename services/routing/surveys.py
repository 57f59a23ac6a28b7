"""Survey tokens: issued when a conversation is resolved, so a survey link can reach the customer.

Each ``conversation.resolved`` event carries one token per survey kind; metrics'
``POST /surveys`` takes an answer only with such a token (or a service token), so nobody
can rate a conversation that is not theirs, or learn whether a conversation key exists.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from pydantic import SecretStr

from services.routing.domain import Conversation
from shared.auth import SurveyGrant, survey_token

#: The kinds of survey a resolved conversation can be rated with.
SURVEY_KINDS = ("csat", "nps")


@dataclass(frozen=True)
class SurveyIssuer:
    """Signs survey tokens with the key metrics verifies them with."""

    secret: SecretStr
    valid_for: timedelta
    #: Where survey links point (the token is added as ``?token=``); empty: no link.
    link_base: str = ""
    #: Providers (names or patterns) whose connectors deliver routing's messages: where a
    #: queue's survey question can be sent.
    providers: frozenset[str] = frozenset()

    def link(self, token: str) -> str:
        """The survey link carrying ``token``, or "" without a link base."""
        if not self.link_base:
            return ""
        separator = "&" if "?" in self.link_base else "?"
        return f"{self.link_base}{separator}{urlencode({'token': token})}"

    def tokens(self, conversation: Conversation, *, at: datetime) -> dict[str, str]:
        """One token per kind for ``conversation``, valid from ``at`` for ``valid_for``."""
        return {
            kind: survey_token(
                self.secret,
                SurveyGrant(
                    conversation_key=conversation.conversation_key,
                    channel=conversation.channel,
                    kind=kind,
                    expires_at=at + self.valid_for,
                ),
            )
            for kind in SURVEY_KINDS
        }
