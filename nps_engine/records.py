"""Typed records: what the engine knows about customers, orders, tickets and answers.

Vendor JSON becomes these records at the adapter boundary and only there. Rules every record keeps:
datetimes are timezone-aware (UTC), money is ``Decimal``, emails are normalised with
:func:`normalise_email`, tags are a tuple of strings as the vendor stores them. Ids are the vendors'
numeric ids (Shopify's ``gid://shopify/Customer/123`` becomes ``123``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

# The enums live in vocabulary.py (nps status counts by them without building these dataclasses);
# records is where callers name them.
from nps_engine.vocabulary import Category as Category
from nps_engine.vocabulary import InviteState as InviteState
from nps_engine.vocabulary import SuppressionReason as SuppressionReason
from nps_engine.vocabulary import SurveyKind as SurveyKind


def normalise_email(email: str | None) -> str | None:
    """Lowercase and trim an address; ``None`` for a missing or blank one.

    Shopify and Zendesk both treat addresses case-insensitively, and customers type them with stray
    capitals and spaces, so every comparison in the product goes through this one function.
    """
    if email is None:
        return None
    cleaned = email.strip().lower()
    return cleaned or None


def email_digest(email: str) -> str:
    """The SHA-256 (hex) of the normalised address: how the suppression list remembers an
    address without keeping it (a redacted customer must not be readable there)."""
    return hashlib.sha256((normalise_email(email) or "").encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    email: str | None
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    country: str | None = None
    tags: tuple[str, ...] = ()
    orders_count: int = 0
    total_spent: Decimal = Decimal("0")
    # None when the shop does not tell us; "subscribed", "not_subscribed", "unsubscribed", ...
    marketing_state: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    name: str
    customer_id: int | None
    email: str | None
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None = None
    # First fulfilment's creation time, and the latest ``Fulfillment.deliveredAt`` if the carrier
    # reported one: eligibility needs both (delivery date, or fulfilment date as a fallback).
    fulfilled_at: datetime | None = None
    delivered_at: datetime | None = None
    refunded: bool = False
    returned: bool = False
    total_price: Decimal = Decimal("0")
    currency: str | None = None
    # Whether a live fulfilment has a tracking number (None: not known, e.g. synced before we
    # read it), and the latest fulfilment's ``displayStatus`` (IN_TRANSIT, DELIVERED, ...): a
    # tracked parcel waits for its delivery date instead of the fulfilment-date fallback.
    tracked: bool | None = None
    delivery_status: str | None = None
    # Present when the order came with its customer nested (sync); None for a bare order.
    customer: Customer | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ZendeskUser:
    id: int
    email: str | None
    name: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    requester_id: int | None
    requester_email: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    subject: str | None = None
    channel: str | None = None
    tags: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        """Solved and closed tickets are done; every other status still has an agent on it."""
        return self.status not in {"solved", "closed", "deleted"}


@dataclass(frozen=True, slots=True)
class SurveyResponse:
    """One answer. ``customer_id`` is None when the answer came from an import and no Shopify
    customer has that email yet; the customer view then groups it by email."""

    score: int
    responded_at: datetime
    email: str | None
    customer_id: int | None = None
    order_id: int | None = None
    comment: str | None = None
    kind: SurveyKind = SurveyKind.TRANSACTIONAL
