"""Consumer groups of a test's own for the services it starts.

On the embedded broker a member that left stays in its group until its session times out
(about 15 s), and a new member's join waits for that: every app a test starts therefore
joins groups no earlier app used.
"""

from __future__ import annotations

import uuid

#: The settings that name each service's consumer groups.
GROUP_VARIABLES = {
    "chat": ("CHAT_REPLIES_GROUP", "CHAT_OUTBOUND_GROUP", "CHAT_PRIVACY_GROUP"),
    "email": ("EMAIL_OUTBOUND_GROUP", "EMAIL_PRIVACY_GROUP"),
    "phone": ("PHONE_OUTBOUND_GROUP", "PHONE_ACCEPTED_GROUP", "PHONE_PRIVACY_GROUP"),
    "social": ("SOCIAL_OUTBOUND_GROUP", "SOCIAL_PRIVACY_GROUP"),
    "metrics": ("METRICS_CONSUMER_GROUP", "METRICS_PRIVACY_GROUP"),
}


def own_groups(*services: str) -> dict[str, str]:
    """Environment variables giving ``services`` consumer groups of their own."""
    suffix = uuid.uuid4().hex[:8]
    return {
        variable: f"{variable.removesuffix('_GROUP').lower().replace('_', '-')}-{suffix}"
        for service in services
        for variable in GROUP_VARIABLES[service]
    }
