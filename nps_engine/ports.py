"""The engine's needs of the outside world, one port each, named for the need.

Every port the engine and the jobs use lives here, in this one module. Each has a real adapter in
``connectors/`` and a fake in ``tests/fakes.py``; ``jobs/bootstrap.py`` builds the real ones.
Adapters speak only in records (``nps_engine.records``) and the small value types below: no
vendor object ever crosses a port.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from nps_engine.records import Customer, Order, Ticket, ZendeskUser
from nps_engine.shop_events import Intent


class OrderSource(Protocol):
    """Shopify orders (with customer, fulfilments, refunds, returns) and customers."""

    def order_pages(
        self, updated_after: datetime | None, updated_before: datetime
    ) -> Iterator[Sequence[Order]]:
        """Orders updated in ``(updated_after, updated_before]``, oldest first, page by page."""
        ...

    def customer_pages(
        self, updated_after: datetime | None, updated_before: datetime
    ) -> Iterator[Sequence[Customer]]: ...

    def backfill_orders(self, created_after: datetime) -> Iterator[Order]:
        """Every order created after ``created_after`` (bulk operation), streamed."""
        ...


@dataclass(frozen=True, slots=True)
class TicketPage:
    tickets: Sequence[Ticket]
    users: Sequence[ZendeskUser]
    # Where the next export starts; saved only once this page is committed.
    after_cursor: str | None
    end_of_stream: bool


class TicketSource(Protocol):
    def ticket_pages(self, cursor: str | None, start_time: datetime) -> Iterator[TicketPage]:
        """Tickets changed since ``cursor`` (or since ``start_time`` when there is none)."""
        ...


@dataclass(frozen=True, slots=True)
class TagChange:
    """What one customer's tags (and, in Zendesk, user fields) must become in one system."""

    customer_id: int
    email: str | None
    add: tuple[str, ...]
    remove: tuple[str, ...]
    desired: tuple[str, ...]
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PushOutcome:
    customer_id: int
    ok: bool
    error: str | None = None
    # False when the error will not go away by itself (e.g. "Customer does not exist").
    retryable: bool = True
    # Nothing to write to in this system (a customer who never contacted support has no Zendesk
    # user): not a failure, and not worth asking again until something changes.
    skipped: bool = False


# The outcome error of a customer who has no Zendesk user (yet): once the ticket sync links one,
# the store forgets the skip (``nps_engine.store.support.retry_customers_found_in_zendesk``).
NO_ZENDESK_USER = "no Zendesk user with this email yet"


class TagWriter(Protocol):
    def push(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]:
        """Apply the changes, additively; one outcome per change, in any order."""
        ...


@dataclass(frozen=True, slots=True)
class SurveyEmail:
    invite_id: int
    to: str
    subject: str
    text: str
    html: str
    headers: Mapping[str, str]
    message_id: str


@dataclass(frozen=True, slots=True)
class SendResult:
    ok: bool
    # True for a permanent refusal of this address (5xx on RCPT): suppress it.
    bounced: bool = False
    error: str | None = None


class SurveyMailer(Protocol):
    def send(self, email: SurveyEmail) -> SendResult: ...


class UserDirectory(Protocol):
    """What the Zendesk tag writer needs from the store (``nps_engine.store.support``)."""

    def known_users(self, customer_ids: Sequence[int]) -> Mapping[int, int]:
        """Zendesk user id of each customer the store already links to one."""
        ...

    def remember_user(self, customer_id: int, user: ZendeskUser) -> None: ...

    def forget_user(self, user_id: int) -> None: ...

    def open_tickets(self, user_ids: Sequence[int]) -> Mapping[int, Sequence[int]]:
        """Ids of the tickets still open, per requester, as last synced."""
        ...


@dataclass(frozen=True, slots=True)
class FollowupTicket:
    """A detractor follow-up ticket, findable again by its ``external_id``."""

    external_id: str
    requester_email: str
    requester_name: str | None
    subject: str
    note: str
    tags: tuple[str, ...] = ()
    requester_id: int | None = None
    group_id: int | None = None
    assignee_id: int | None = None


class FollowupDesk(Protocol):
    """Where detractor follow-up tickets go (``connectors.zendesk.ZendeskFollowupDesk``)."""

    def requester_id(self, email: str) -> int | None: ...

    def find_followup(self, external_id: str) -> int | None: ...

    def create_followup(self, ticket: FollowupTicket) -> int: ...


class QueryCostMemory(Protocol):
    """What each Shopify query really cost per node, kept between runs so a sync's first page
    is sized right (``nps_engine.store.query_costs.StoredQueryCosts``)."""

    def node_cost(self, query: str) -> float | None: ...

    def remember_node_cost(self, query: str, points_per_node: float) -> None: ...


@dataclass(frozen=True, slots=True)
class PromoterCode:
    """A single-use discount code thanking one promoter, findable again by its ``code``."""

    code: str
    customer_id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    percentage: Decimal | None = None  # exactly one of percentage and fixed_amount
    fixed_amount: Decimal | None = None
    minimum_order: Decimal | None = None


class DiscountDesk(Protocol):
    """Where promoter discount codes are made (``connectors.shopify.discounts``)."""

    def find_code(self, code: str) -> str | None:
        """The discount's id when ``code`` exists in the shop, else None."""
        ...

    def create_code(self, reward: PromoterCode) -> str:
        """Create the code; its discount's id. Raises when Shopify refuses it."""
        ...


class TicketTagger(Protocol):
    """Tags on one Zendesk ticket (the ``ticket.created`` webhook tags new tickets at once)."""

    def add_ticket_tags(self, ticket_id: int, tags: Sequence[str]) -> None: ...


class ShopifyWebhookReader(Protocol):
    """Shopify's webhook deliveries: whether one is signed by the app, and what it asks."""

    def signature_is_valid(self, raw_body: bytes, header: str | None, secret: str) -> bool: ...

    def intent_of(self, topic: str, payload: Mapping[str, Any]) -> Intent | None:
        """What ``payload`` asks of the store; None for an ignored topic.

        Raises ``nps_engine.shop_events.WebhookPayloadError`` for a body of the wrong shape.
        """
        ...


class ShopifyCostBudget(Protocol):
    """A shop's GraphQL cost bucket as the Shopify client pays into it.

    The client's own :class:`connectors.shopify.cost.CostBucket` serves one process; a shared
    one (``connectors.budgets``) serves every worker of a shop. ``wait_before`` may itself wait
    and pay (a shared bucket must, atomically, or two workers would both spend the same points)
    and return 0; ``spend`` then charges nothing more. ``now`` is the client's monotonic clock.
    ``known``/``maximum``: whether an answer has told the bucket's size yet, and that size.
    """

    @property
    def known(self) -> bool: ...

    @property
    def maximum(self) -> float: ...

    def wait_before(self, cost: float, now: float) -> float:
        """Seconds to wait before sending a query of requested cost ``cost``."""
        ...

    def spend(self, cost: float, now: float) -> None: ...

    def available_at(self, now: float) -> float:
        """The points the bucket holds at ``now`` (for sizing pages)."""
        ...

    def observe(self, throttle_status: Mapping[str, Any], now: float) -> None:
        """An answer's ``extensions.cost.throttleStatus``: the bucket as Shopify saw it."""
        ...


class RequestBudget(Protocol):
    """A Zendesk account's requests per minute, shared by every client of the account."""

    def acquire(self) -> float:
        """Take one request; the seconds to wait before sending it (0: go now)."""
        ...

    def observe(self, status: int, headers: Mapping[str, str]) -> None:
        """An answer's status and rate-limit headers (``ratelimit-remaining``/``-reset``)."""
        ...
