"""The engine's needs of the outside world, one port each, named for the need.

Every port the engine and the jobs use lives here, in this one module. Each has a real adapter in
``connectors/`` and a fake in ``tests/fakes.py``; ``jobs/bootstrap.py`` builds the real ones.
Adapters speak only in records (``nps_engine.records``) and the small value types of
``nps_engine.port_values`` (re-exported here): no vendor object ever crosses a port.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from nps_engine.alert_messages import AlertMessage
from nps_engine.port_values import (
    NO_ZENDESK_USER,
    FollowupTicket,
    PromoterCode,
    PushOutcome,
    SendResult,
    SurveyEmail,
    TagChange,
    TicketPage,
)
from nps_engine.records import Customer, Order, ZendeskUser
from nps_engine.shop_events import Intent

if TYPE_CHECKING:  # numpy loads only where comments are embedded, not for every command
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "NO_ZENDESK_USER",
    "FollowupTicket",
    "PromoterCode",
    "PushOutcome",
    "SendResult",
    "SurveyEmail",
    "TagChange",
    "TicketPage",
]


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


class TicketSource(Protocol):
    def ticket_pages(self, cursor: str | None, start_time: datetime) -> Iterator[TicketPage]:
        """Tickets changed since ``cursor`` (or since ``start_time`` when there is none)."""
        ...


class TagWriter(Protocol):
    def push(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]:
        """Apply the changes, additively; one outcome per change, in any order."""
        ...


@runtime_checkable
class TagPreview(Protocol):
    """A ``TagWriter`` that can tell, reading only, which changes a push would skip (Zendesk:
    customers no user has the email of), so a dry run says what will really happen."""

    def preview(self, changes: Sequence[TagChange]) -> Iterator[PushOutcome]: ...


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


class FollowupDesk(Protocol):
    """Where detractor follow-up tickets go (``connectors.zendesk.ZendeskFollowupDesk``)."""

    def requester_id(self, email: str) -> int | None: ...

    def find_followup(self, external_id: str) -> int | None: ...

    def create_followup(self, ticket: FollowupTicket) -> int: ...

    def add_note(self, ticket_id: int, note: str) -> None:
        """An internal note on a follow-up ticket (the customer changed their answer)."""
        ...


class QueryCostMemory(Protocol):
    """What each Shopify query really cost per node, kept between runs so a sync's first page
    is sized right (``nps_engine.store.query_costs.StoredQueryCosts``)."""

    def node_cost(self, query: str) -> float | None: ...

    def remember_node_cost(self, query: str, points_per_node: float) -> None: ...


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


class AlertChannel(Protocol):
    """One way an alert leaves: ``email`` (SMTP) or ``webhook`` (Slack or any URL).

    ``deliver`` returns when the channel accepted the message; it raises the connectors'
    ``TransientError`` when trying later may work (after the shared retry policy gave up),
    ``PermanentError`` when it will not, and ``AlertOutcomeUnknown`` (a ``PermanentError``)
    when the message may have left before the connection broke (never re-sent).
    """

    name: str

    def deliver(self, message: AlertMessage) -> None: ...


class CommentEmbedder(Protocol):
    """Sentence embeddings and languages of survey comments, computed on this machine
    (``connectors.comment_embedder.LocalCommentEmbedder``): no hosted model, nothing downloaded."""

    @property
    def model_name(self) -> str:
        """Names the model: cached vectors of another model are recomputed."""
        ...

    def embed(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One row per text, unit length."""
        ...

    def languages(self, texts: Sequence[str]) -> list[str | None]:
        """ISO 639-1 code of each text, None when it is too short or ambiguous to tell."""
        ...


class ShopAccessProbe(Protocol):
    """Whether the Shopify Admin API still accepts the app's credentials.

    Shopify sends ``shop/redact`` 48 hours after the app is uninstalled, when its token no longer
    works. The body is signed but not the topic header, so a captured delivery could be replayed
    as ``shop/redact``: the receiver erases the store only once this says access is gone.
    """

    def admin_api_accepts_us(self) -> bool:
        """True while the Admin API answers us, False once it refuses our credentials (401,
        402, 403, 404: the app is uninstalled or the shop closed). Raises for anything else
        (network down, Shopify unavailable): nothing is known then."""


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
