"""Shopify webhook deliveries, signed and shaped as Shopify sends them.

https://shopify.dev/docs/apps/build/webhooks/verify-deliveries: the body is the REST resource of
the topic; ``X-Shopify-Hmac-Sha256`` is base64(HMAC-SHA256(app secret, raw body)). Headers that
Shopify's own library requires on every delivery (topic, shop domain, API version, webhook id)
are always sent, with the event id and trigger time. A re-delivery keeps the webhook id and the
body, which is how a receiver recognises a duplicate. Privacy payloads follow
``compliance_webhook_payloads.json`` (Shopify's app template).

    sender = ShopifyWebhookSender("http://127.0.0.1:8000/webhooks/shopify", secret="hush",
                                  shop_domain=world.shop_domain)
    delivery = sender.order_fulfilled(world, order)        # .status, .body, .headers
    sender.redeliver(delivery)                              # same id, same bytes
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from sandbox.shopify.derived import financial_status, shop_email
from sandbox.shopify.gid import gid
from sandbox.world import Customer, Fulfillment, Order, Refund, World

SHOP_ID = 60_000_000_001
PRIVACY_TOPICS = ("customers/data_request", "customers/redact", "shop/redact")


def signature(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value of ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class WebhookDelivery:
    topic: str
    body: bytes
    headers: dict[str, str]
    status: int  # the receiver's HTTP status


class ShopifyWebhookSender:
    def __init__(
        self,
        url: str,
        secret: str,
        *,
        shop_domain: str,
        api_version: str = "2026-01",
        clock: Callable[[], datetime] | None = None,
        session: requests.Session | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.secret = secret
        self.shop_domain = shop_domain
        self.api_version = api_version
        self.clock = clock or (lambda: datetime.now(UTC))
        self.session = session or requests.Session()
        self.timeout = timeout

    def send(
        self, topic: str, payload: dict[str, Any], *, secret: str | None = None
    ) -> WebhookDelivery:
        """Post ``payload`` for ``topic``; ``secret`` overrides the signing key (to forge)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature(body, secret or self.secret),
            "X-Shopify-Shop-Domain": self.shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": self.clock()
            .astimezone(UTC)
            .isoformat()
            .replace("+00:00", "Z"),
        }
        return self._post(topic, body, headers)

    def redeliver(self, delivery: WebhookDelivery) -> WebhookDelivery:
        """Shopify's retry: the same body and webhook id, sent again."""
        return self._post(delivery.topic, delivery.body, dict(delivery.headers))

    def order_fulfilled(self, world: World, order: Order) -> WebhookDelivery:
        return self.send("orders/fulfilled", order_payload(world, order))

    def fulfillment_delivered(self, order: Order, fulfillment: Fulfillment) -> WebhookDelivery:
        return self.send("fulfillment_events/create", delivered_event_payload(order, fulfillment))

    def refund_created(self, order: Order, refund: Refund) -> WebhookDelivery:
        return self.send("refunds/create", refund_payload(order, refund))

    def customers_data_request(
        self, world: World, customer: Customer, request_id: int = 9999
    ) -> WebhookDelivery:
        payload = {
            **self._shop(),
            "orders_requested": world.orders_by_customer.get(customer.id, []),
            "customer": _privacy_customer(customer),
            "data_request": {"id": request_id},
        }
        return self.send("customers/data_request", payload)

    def customers_redact(self, world: World, customer: Customer) -> WebhookDelivery:
        payload = {
            **self._shop(),
            "customer": _privacy_customer(customer),
            "orders_to_redact": world.orders_by_customer.get(customer.id, []),
        }
        return self.send("customers/redact", payload)

    def shop_redact(self) -> WebhookDelivery:
        return self.send("shop/redact", self._shop())

    def _shop(self) -> dict[str, Any]:
        return {"shop_id": SHOP_ID, "shop_domain": self.shop_domain}

    def _post(self, topic: str, body: bytes, headers: dict[str, str]) -> WebhookDelivery:
        response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        return WebhookDelivery(topic, body, headers, response.status_code)


def rest_time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _privacy_customer(customer: Customer) -> dict[str, Any]:
    return {"id": customer.id, "email": shop_email(customer.email), "phone": customer.phone}


def order_payload(world: World, order: Order) -> dict[str, Any]:
    """The REST Order resource, as the orders/* topics carry it (the fields a receiver reads)."""
    customer = world.customers.get(order.customer_id) if order.customer_id else None
    return {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "name": order.name,
        "order_number": int(order.name.lstrip("#")),
        "email": shop_email(order.email),
        "contact_email": shop_email(order.email),
        "created_at": rest_time(order.created_at),
        "updated_at": rest_time(order.updated_at),
        "processed_at": rest_time(order.created_at),
        "cancelled_at": rest_time(order.cancelled_at),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "closed_at": rest_time(order.cancelled_at),
        "currency": order.currency,
        "total_price": _money(order.total_price),
        "financial_status": financial_status(order).lower(),
        "fulfillment_status": "fulfilled" if order.fulfillments else None,
        "tags": ", ".join(order.tags),
        "test": False,
        "customer": None if customer is None else customer_payload(customer),
        "fulfillments": [fulfillment_payload(order, f) for f in order.fulfillments],
        "refunds": [refund_payload(order, r) for r in order.refunds],
    }


def customer_payload(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "admin_graphql_api_id": gid("Customer", customer.id),
        "email": shop_email(customer.email),
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "locale": customer.locale,
        "tags": ", ".join(customer.tags),
        "created_at": rest_time(customer.created_at),
        "updated_at": rest_time(customer.updated_at),
    }


def fulfillment_payload(order: Order, fulfillment: Fulfillment) -> dict[str, Any]:
    delivered = fulfillment.delivered_at is not None
    return {
        "id": fulfillment.id,
        "admin_graphql_api_id": gid("Fulfillment", fulfillment.id),
        "order_id": order.id,
        "status": "success",
        "shipment_status": "delivered" if delivered else None,
        "created_at": rest_time(fulfillment.created_at),
        "updated_at": rest_time(fulfillment.updated_at),
        "tracking_company": fulfillment.tracking_company,
        "tracking_number": fulfillment.tracking_number,
    }


def delivered_event_payload(order: Order, fulfillment: Fulfillment) -> dict[str, Any]:
    """The REST FulfillmentEvent (``rest_fulfillment_event_shape.json``) with status delivered."""
    happened = fulfillment.delivered_at or fulfillment.updated_at
    event_id = fulfillment.id * 10 + 1
    return {
        "id": event_id,
        "fulfillment_id": fulfillment.id,
        "status": "delivered",
        "message": None,
        "happened_at": rest_time(happened),
        "city": None,
        "province": None,
        "country": None,
        "zip": None,
        "address1": None,
        "latitude": None,
        "longitude": None,
        "shop_id": SHOP_ID,
        "created_at": rest_time(happened),
        "updated_at": rest_time(happened),
        "estimated_delivery_at": None,
        "order_id": order.id,
        "admin_graphql_api_id": gid("FulfillmentEvent", event_id),
    }


def refund_payload(order: Order, refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.id,
        "admin_graphql_api_id": gid("Refund", refund.id),
        "order_id": order.id,
        "created_at": rest_time(refund.created_at),
        "processed_at": rest_time(refund.created_at),
        "note": refund.note,
        "restock": False,
        "refund_line_items": [],
        "transactions": [
            {
                "order_id": order.id,
                "kind": "refund",
                "status": "success",
                "amount": _money(refund.amount),
                "currency": order.currency,
            }
        ],
    }
