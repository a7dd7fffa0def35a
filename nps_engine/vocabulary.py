"""The fixed words records and the store share: the kinds and states a record takes, and the error
a tag push records for a customer who has no Zendesk user yet.

Kept apart from the dataclasses of ``records`` and ``port_values``, which re-export these names:
building those dataclasses costs about 10 ms of CPU, and ``nps status``, which only counts rows by
these words, starts without them (bench/cli_start.py).
"""

from __future__ import annotations

import enum


class Category(enum.StrEnum):
    DETRACTOR = "detractor"
    PASSIVE = "passive"
    PROMOTER = "promoter"


class SurveyKind(enum.StrEnum):
    """Post-delivery (transactional) and relationship answers are never blended in one figure."""

    TRANSACTIONAL = "transactional"
    RELATIONSHIP = "relationship"


class InviteState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    REDACTED = "redacted"


# The outcome error of a customer who has no Zendesk user (yet): once the ticket sync links one,
# the store forgets the skip (``nps_engine.store.support.retry_customers_found_in_zendesk``).
NO_ZENDESK_USER = "no Zendesk user with this email yet"
