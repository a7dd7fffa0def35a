"""The generated world both simulators serve: one shop's customers and orders, one Zendesk account.

Model (everything here is what the vendors would store; nothing is derived at request time):

- ``World.customers``: Shopify customers by numeric id (ids grow with ``created_at``, like
  Shopify's). ``email`` is stored as the customer typed it (some have capitals or stray spaces);
  compare through ``nps_engine.records.normalise_email``. ``tags`` is a mutable list the Shopify
  simulator edits (``tagsAdd``/``tagsRemove``); edits bump ``updated_at``.
- ``World.orders``: Shopify orders by numeric id, ids and names (``#1001``...) growing with
  ``created_at``. ``customer_id`` is None for guest checkouts. Each order carries its fulfilments
  (``delivered_at`` None when the carrier gave no tracking), refunds and returns, all frozen.
  ``World.orders_by_customer`` indexes them.
- ``World.zendesk_users``: Zendesk end users by id. Most match a Shopify customer by email (often
  with a different case: Zendesk keeps what the requester typed), some match nobody, some have no
  email at all. ``tags`` and ``user_fields`` are mutable (the Zendesk simulator writes them).
- ``World.tickets``: Zendesk tickets by id (sequential, as Zendesk numbers them). Customers with
  returns or late deliveries open tickets more often. New tickets go through
  :meth:`World.add_ticket`, which assigns the next id.
- ``World.true_experience``: hidden, per Shopify customer id, a float on the 0-10 scale the
  response simulator draws scores around. Returns, tickets and late deliveries lowered it.

Concurrency: simulators serve requests on several threads. Hold ``world.lock`` (re-entrant) for
every read-modify-write of a mutable field, and bump ``updated_at`` with the write.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
# ReturnStatus values of the Admin API (2026-01).
RETURN_STATUSES = ("REQUESTED", "OPEN", "CLOSED", "DECLINED", "CANCELED")


@dataclass(slots=True)
class Customer:
    id: int
    email: str | None
    first_name: str
    last_name: str
    locale: str  # "fr", "en", "de", "es" as Shopify's Customer.locale holds it
    country: str  # ISO 3166 alpha-2 of the default address
    tags: list[str]
    marketing_state: str  # CustomerEmailMarketingState: SUBSCRIBED, NOT_SUBSCRIBED, UNSUBSCRIBED
    created_at: datetime
    updated_at: datetime
    phone: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


@dataclass(frozen=True, slots=True)
class Fulfillment:
    id: int
    created_at: datetime
    updated_at: datetime
    # None when the carrier sent no delivery event (no tracking): the product then falls back to
    # the fulfilment date.
    delivered_at: datetime | None
    # FulfillmentDisplayStatus: DELIVERED, FULFILLED (no tracking), IN_TRANSIT, ...
    display_status: str
    tracking_number: str | None
    tracking_company: str | None
    late: bool  # delivered later than promised (hidden truth; not an API field)


@dataclass(frozen=True, slots=True)
class Refund:
    id: int
    created_at: datetime
    amount: Decimal
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Return:
    id: int
    name: str  # "#1001-R1"
    status: str  # one of RETURN_STATUSES
    created_at: datetime
    closed_at: datetime | None = None


@dataclass(slots=True)
class Order:
    id: int
    name: str
    customer_id: int | None
    email: str | None
    created_at: datetime
    updated_at: datetime
    total_price: Decimal
    currency: str
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None  # OrderCancelReason: CUSTOMER, INVENTORY, FRAUD, DECLINED...
    fulfillments: tuple[Fulfillment, ...] = ()
    refunds: tuple[Refund, ...] = ()
    returns: tuple[Return, ...] = ()
    tags: list[str] = field(default_factory=list)

    @property
    def delivered_at(self) -> datetime | None:
        dates = [f.delivered_at for f in self.fulfillments if f.delivered_at is not None]
        return max(dates) if dates else None

    @property
    def refunded_amount(self) -> Decimal:
        return sum((refund.amount for refund in self.refunds), Decimal("0"))


@dataclass(slots=True)
class ZendeskUser:
    id: int
    email: str | None
    name: str
    tags: list[str]
    user_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    locale: str = "en-US"
    role: str = "end-user"


@dataclass(frozen=True, slots=True)
class TicketComment:
    id: int
    author_id: int
    body: str
    public: bool
    created_at: datetime


@dataclass(slots=True)
class Ticket:
    id: int
    requester_id: int
    status: str  # one of TICKET_STATUSES
    subject: str
    channel: str  # via.channel: "email", "web", "chat", "api"
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    comments: list[TicketComment] = field(default_factory=list)
    priority: str | None = None


@dataclass(slots=True)
class World:
    """One shop and one Zendesk account, generated for a seed at a fixed ``now``."""

    seed: int
    now: datetime
    shop_domain: str
    currency: str
    customers: dict[int, Customer]
    orders: dict[int, Order]
    zendesk_users: dict[int, ZendeskUser]
    tickets: dict[int, Ticket]
    true_experience: dict[int, float]
    orders_by_customer: dict[int, list[int]]
    # Zendesk user fields defined on the account (key -> type), as GET /user_fields lists them.
    zendesk_user_field_defs: dict[str, str] = field(
        default_factory=lambda: {"nps_score": "integer", "nps_category": "text"}
    )
    lock: threading.RLock = field(default_factory=threading.RLock, compare=False, repr=False)
    _next_ids: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def customer_orders(self, customer_id: int) -> list[Order]:
        return [self.orders[i] for i in self.orders_by_customer.get(customer_id, ())]

    def customer_by_email(self, email: str) -> Customer | None:
        wanted = email.strip().lower()
        return next(
            (c for c in self.customers.values() if (c.email or "").strip().lower() == wanted),
            None,
        )

    def next_id(self, kind: str) -> int:
        """A fresh id for a new entity of ``kind`` ("ticket", "comment", "zendesk_user", ...)."""
        with self.lock:
            if kind not in self._next_ids:
                self._next_ids[kind] = self._highest_id(kind) + 1
            value = self._next_ids[kind]
            self._next_ids[kind] = value + 1
            return value

    def add_ticket(self, ticket: Ticket) -> Ticket:
        """Store a ticket created through an API (its id must come from ``next_id("ticket")``)."""
        with self.lock:
            self.tickets[ticket.id] = ticket
            return ticket

    def _highest_id(self, kind: str) -> int:
        existing: Iterable[int]
        if kind == "ticket":
            existing = self.tickets
        elif kind == "zendesk_user":
            existing = self.zendesk_users
        elif kind == "comment":
            existing = (c.id for t in self.tickets.values() for c in t.comments)
        else:
            existing = ()
        return max(existing, default=1_000_000)
