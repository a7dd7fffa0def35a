"""The engine's needs of the outside world, one port each, named for the need.

Each port has a real adapter in ``connectors/`` and a fake used by tests; ``jobs/bootstrap.py``
chooses. Adapters speak only in records (``nps_engine.records``) and the small value types below:
no vendor object ever crosses a port.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from nps_engine.records import Customer, Order, Ticket, ZendeskUser


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
