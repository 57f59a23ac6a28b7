"""Privacy: erasing a contact's personal data in every service, and keeping data no longer
than each kind's retention.

Routing erases its own rows and publishes an :class:`~shared.events.ErasureEvent` on
``privacy.v1``; every other service consumes it (:func:`install`) and erases what it holds
of those conversations. Erased values become keyed pseudonyms (:func:`pseudonym`).
"""

from shared.privacy.deliveries import delivery_retention, erase_deliveries
from shared.privacy.pseudonyms import PSEUDONYM_PREFIX, is_pseudonym, pseudonym
from shared.privacy.retention import RetentionRule, Sweep, delete_older, sweep_once
from shared.privacy.settings import PrivacySettings
from shared.privacy.wiring import Eraser, install

__all__ = [
    "PSEUDONYM_PREFIX",
    "Eraser",
    "PrivacySettings",
    "RetentionRule",
    "Sweep",
    "delete_older",
    "delivery_retention",
    "erase_deliveries",
    "install",
    "is_pseudonym",
    "pseudonym",
    "sweep_once",
]
