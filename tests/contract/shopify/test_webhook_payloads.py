"""Webhook signatures and the topics' payloads (REST shapes, privacy topics)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from reference_data import reference_file

from connectors.shopify.webhooks import (
    CustomerDataRequest,
    CustomerRedact,
    OrderDelivered,
    OrderFulfilled,
    OrderRefunded,
    OrderReturned,
    ShopRedact,
    WebhookPayloadError,
    intent_of,
    signature,
    signature_is_valid,
)

ORDER_GID = "gid://shopify/Order/450789469"
BODY = b'{"id":1,"status":"delivered"}'


def test_the_signature_matches_shopifys_base64_hmac() -> None:
    # Test vector from the notes (secret "hush").
    assert signature_is_valid(BODY, "x40mspe+GebmjoFjiGThvEe5IG/KemFMwYCon9vSybw=", "hush")
    assert signature(BODY, "hush") == "x40mspe+GebmjoFjiGThvEe5IG/KemFMwYCon9vSybw="


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (BODY + b" ", "x40mspe+GebmjoFjiGThvEe5IG/KemFMwYCon9vSybw=", "hush"),  # body changed
        (BODY, "x40mspe+GebmjoFjiGThvEe5IG/KemFMwYCon9vSybw=", "other"),  # wrong secret
        (BODY, None, "hush"),
        (BODY, "", "hush"),
        (BODY, "x40mspe+GebmjoFjiGThvEe5IG/KemFMwYCon9vSybw=", ""),  # no secret configured
    ],
)
def test_a_forged_or_missing_signature_is_refused(
    body: bytes, header: str | None, secret: str
) -> None:
    assert not signature_is_valid(body, header, secret)


def compliance() -> dict:
    path = reference_file("shopify/samples/compliance_webhook_payloads.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_privacy_topics_name_the_customer_and_orders() -> None:
    payloads = compliance()
    assert intent_of("customers/data_request", payloads["customers/data_request"]) == (
        CustomerDataRequest(
            "{shop}.myshopify.com", 191167, "john@example.com", (299938, 280263, 220458), 9999
        )
    )
    assert intent_of("customers/redact", payloads["customers/redact"]) == CustomerRedact(
        "{shop}.myshopify.com", 191167, "john@example.com", (299938, 280263, 220458)
    )
    assert intent_of("shop/redact", payloads["shop/redact"]) == ShopRedact(
        954889, "{shop}.myshopify.com"
    )


def test_a_delivered_fulfilment_event_marks_the_order_delivered() -> None:
    path = reference_file("shopify/samples/rest_fulfillment_event_shape.json")
    event = json.loads(path.read_text(encoding="utf-8"))["fulfillment_event"]
    assert intent_of("fulfillment_events/create", event) is None  # label_printed: not yet
    delivered = {**event, "status": "delivered", "happened_at": "2021-01-27T10:00:00-05:00"}
    assert intent_of("fulfillment_events/create", delivered) == OrderDelivered(
        2776493818019, datetime(2021, 1, 27, 15, tzinfo=UTC)
    )


def test_orders_refunds_and_returns_become_order_facts() -> None:
    order = {
        "id": 450789469,
        "name": "#1001",
        "email": "Bob@Example.com",
        "created_at": "2026-10-01T10:00:00-04:00",
        "updated_at": "2026-10-03T10:00:00-04:00",
        "cancelled_at": None,
        "customer": {"id": 207119551},
        "total_price": "199.65",
        "currency": "EUR",
        "refunds": [],
        "fulfillments": [
            {
                "id": 1,
                "status": "success",
                "created_at": "2026-10-02T09:00:00-04:00",
                "shipment_status": "in_transit",
            }
        ],
    }
    fulfilled = intent_of("orders/fulfilled", order)
    assert isinstance(fulfilled, OrderFulfilled)
    assert fulfilled.order.customer_id == 207119551
    assert fulfilled.order.email == "bob@example.com"
    assert fulfilled.order.fulfilled_at == datetime(2026, 10, 2, 13, tzinfo=UTC)
    assert intent_of("refunds/create", {"id": 5, "order_id": 450789469}) == OrderRefunded(450789469)
    return_payload = {
        "id": 9,
        "status": "requested",
        "order": {"id": 450789469, "admin_graphql_api_id": ORDER_GID},
    }
    assert intent_of("returns/request", return_payload) == OrderReturned(450789469)


def test_an_unknown_topic_is_ignored() -> None:
    assert intent_of("products/update", {"id": 1}) is None


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("refunds/create", {"id": 5}),
        ("customers/redact", {"shop_id": 1}),
        ("orders/fulfilled", {"id": 1, "created_at": None, "updated_at": None}),
        ("fulfillment_events/create", {"status": "delivered", "order_id": True}),
    ],
)
def test_a_payload_missing_what_its_topic_needs_is_a_clear_error(topic: str, payload: dict) -> None:
    with pytest.raises(WebhookPayloadError, match=topic):
        intent_of(topic, payload)
