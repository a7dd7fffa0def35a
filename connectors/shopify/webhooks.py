"""Shopify webhook deliveries: their signature, and what each topic tells us.

Signature (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries): the
``X-Shopify-Hmac-Sha256`` header is base64(HMAC-SHA256(app client secret, raw body)); compare in
constant time, before parsing anything. ShopifyAPI has no helper for this (its
``Session.validate_hmac`` is the OAuth query-string check).

Bodies are the REST resource of the topic: ``orders/fulfilled`` an order, ``refunds/create`` a
refund (``order_id``), ``fulfillment_events/create`` a fulfilment event (``status`` lowercase,
``delivered`` is the one we want; the body is assumed unwrapped, a ``fulfillment_event`` root is
accepted too), ``returns/*`` a return with its ``order``. The privacy topics
(``customers/data_request``, ``customers/redact``, ``shop/redact``) are mandatory for every app.
Each topic becomes one small intent; the store applies it, and the next sync stays the source of
truth.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from connectors.shopify.mapping import gid_number, money, required_timestamp, timestamp
from nps_engine.records import Order, normalise_email
from nps_engine.shop_events import (
    CustomerDataRequest,
    CustomerRedact,
    Intent,
    OrderDelivered,
    OrderFulfilled,
    OrderRefunded,
    OrderReturned,
    ShopRedact,
    WebhookPayloadError,
)

RETURN_TOPICS = {"returns/request", "returns/approve", "returns/process", "returns/close"}
DEAD_FULFILMENT = {"cancelled", "error", "failure"}


def signature_is_valid(raw_body: bytes, header: str | None, secret: str) -> bool:
    if not header or not secret:
        return False
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), header.strip().encode("utf-8"))


def signature(raw_body: bytes, secret: str) -> str:
    """The header value Shopify would send for ``raw_body`` (tests, the sandbox's sender)."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def intent_of(topic: str, payload: Mapping[str, Any]) -> Intent | None:
    """What ``payload`` of ``topic`` asks of the store; None for a topic or event we ignore."""
    if not isinstance(payload, Mapping):
        raise WebhookPayloadError(f"{topic} payload: expected a JSON object")
    try:
        return _intent_of(topic.strip().lower(), payload)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise WebhookPayloadError(f"{topic} payload: bad or missing {exc}") from None


def _intent_of(topic: str, payload: Mapping[str, Any]) -> Intent | None:
    if topic == "orders/fulfilled":
        return OrderFulfilled(order_from_rest(payload))
    if topic == "fulfillment_events/create":
        event = payload.get("fulfillment_event", payload)
        if str(event.get("status", "")).lower() != "delivered":
            return None
        moment = event.get("happened_at") or event.get("created_at")
        return OrderDelivered(_id(event["order_id"]), required_timestamp(moment, "happened_at"))
    if topic == "refunds/create":
        return OrderRefunded(_id(payload["order_id"]))
    if topic in RETURN_TOPICS:
        order = payload.get("order") or {}
        order_id = payload.get("order_id") or order.get("admin_graphql_api_id") or order["id"]
        return OrderReturned(_id(order_id))
    if topic == "customers/data_request":
        customer = _mapping(payload, "customer")
        request = payload.get("data_request") or {}
        return CustomerDataRequest(
            _shop_domain(payload),
            _id(customer["id"]),
            normalise_email(customer.get("email")),
            tuple(_id(o) for o in _list(payload, "orders_requested")),
            _id(request["id"]) if isinstance(request, Mapping) and request.get("id") else None,
        )
    if topic == "customers/redact":
        customer = _mapping(payload, "customer")
        return CustomerRedact(
            _shop_domain(payload),
            _id(customer["id"]),
            normalise_email(_text(customer.get("email"), "customer.email")),
            tuple(_id(o) for o in _list(payload, "orders_to_redact")),
        )
    if topic == "shop/redact":
        # Documented body: {"shop_id": 954889, "shop_domain": "{shop}.myshopify.com"}; nothing
        # less is taken for the one topic that erases a whole store.
        return ShopRedact(_id(payload["shop_id"]), _shop_domain(payload))
    return None


def _mapping(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload[key]
    if not isinstance(value, Mapping):
        raise TypeError(f"{key} (expected an object)")
    return value


def _list(payload: Mapping[str, Any], key: str) -> list[Any]:
    """A list the topic always sends (possibly empty); missing or of another type: refused."""
    value = payload[key]
    if not isinstance(value, list):
        raise TypeError(f"{key} (expected a list)")
    return value


def _text(value: Any, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{what} (expected text)")
    return value


def _shop_domain(payload: Mapping[str, Any]) -> str:
    """Every privacy topic names its shop: ``shop_id`` and ``shop_domain`` are required."""
    _id(payload["shop_id"])
    domain = payload["shop_domain"]
    if not isinstance(domain, str) or not domain.strip():
        raise TypeError("shop_domain (expected the shop's myshopify domain)")
    return domain.strip().lower()


def order_from_rest(payload: Mapping[str, Any]) -> Order:
    """A REST order (``orders/*`` webhooks). REST fulfilments have no delivery time, only
    ``shipment_status``; delivery comes from ``fulfillment_events/create`` or the next sync."""
    fulfilments = [
        f for f in payload.get("fulfillments") or () if str(f.get("status")) not in DEAD_FULFILMENT
    ]
    created = [timestamp(f.get("created_at")) for f in fulfilments]
    customer = payload.get("customer")
    return Order(
        id=_id(payload["id"]),
        name=str(payload.get("name") or ""),
        customer_id=_id(customer["id"]) if customer else None,
        email=normalise_email(payload.get("email")),
        created_at=required_timestamp(payload.get("created_at"), "created_at"),
        updated_at=required_timestamp(payload.get("updated_at"), "updated_at"),
        cancelled_at=timestamp(payload.get("cancelled_at")),
        fulfilled_at=min((c for c in created if c is not None), default=None),
        refunded=bool(payload.get("refunds")),
        total_price=money(payload.get("total_price")),
        currency=payload.get("currency"),
    )


# Shopify ids are 64-bit; anything larger cannot be a Shopify id (and overflows BIGINT columns).
MAX_ID = 2**63 - 1


def _id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError("id (expected a number or a gid:// string)")
    if isinstance(value, str) and len(value) > 100:
        raise ValueError("id (longer than any Shopify id)")
    number = gid_number(value if isinstance(value, int) else str(value))
    if not 0 < number <= MAX_ID:
        raise ValueError("id (outside the range of Shopify ids)")
    return number


class ShopifyWebhookReader:
    """The ``ShopifyWebhookReader`` port: the signature check and the topics' shapes."""

    def signature_is_valid(self, raw_body: bytes, header: str | None, secret: str) -> bool:
        return signature_is_valid(raw_body, header, secret)

    def intent_of(self, topic: str, payload: Mapping[str, Any]) -> Intent | None:
        return intent_of(topic, payload)
