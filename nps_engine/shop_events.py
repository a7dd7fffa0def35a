"""What a Shopify webhook delivery asks of the store, once its vendor JSON is read.

The Shopify adapter (``connectors.shopify.webhooks``) turns each topic's body into one of these
small values; the web receiver (``nps_engine.web.shopify_webhooks``) applies it to the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nps_engine.records import Order


class WebhookPayloadError(ValueError):
    """The body parsed but is not the shape the topic promises; names the missing field."""


@dataclass(frozen=True, slots=True)
class OrderFulfilled:
    order: Order


@dataclass(frozen=True, slots=True)
class OrderDelivered:
    order_id: int
    delivered_at: datetime


@dataclass(frozen=True, slots=True)
class OrderRefunded:
    order_id: int


@dataclass(frozen=True, slots=True)
class OrderReturned:
    order_id: int


@dataclass(frozen=True, slots=True)
class CustomerDataRequest:
    shop_domain: str
    customer_id: int
    email: str | None
    order_ids: tuple[int, ...]
    request_id: int | None


@dataclass(frozen=True, slots=True)
class CustomerRedact:
    shop_domain: str
    customer_id: int
    email: str | None
    order_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ShopRedact:
    shop_id: int
    shop_domain: str


# The topics whose body names the shop it is about (the privacy topics): the receiver checks it.
PRIVACY_INTENTS = (CustomerDataRequest, CustomerRedact, ShopRedact)

Intent = (
    OrderFulfilled
    | OrderDelivered
    | OrderRefunded
    | OrderReturned
    | CustomerDataRequest
    | CustomerRedact
    | ShopRedact
)
