"""Webhook deliveries: verifiable HMAC, Shopify's headers, REST payloads, privacy topics."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from shopify_support import sample

from sandbox.loopback import LoopbackServer, Request, Response, Route
from sandbox.shopify import ShopifySimulator
from sandbox.shopify.webhooks import ShopifyWebhookSender, signature
from sandbox.traffic import Traffic
from sandbox.world import World

SECRET = "hush"


def verify_webhook(raw_body: bytes, header_b64: str, secret: str) -> bool:
    """The verification snippet of shopify-notes.md section 5.1, verbatim in behaviour."""
    digest = hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest), (header_b64 or "").encode("utf-8"))


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        route = Route("POST", "/webhooks/shopify", "POST /webhooks/shopify", self.receive)
        self.server = LoopbackServer([route], Traffic())

    def receive(self, request: Request) -> Response:
        self.requests.append(request)
        valid = verify_webhook(request.body, request.headers["x-shopify-hmac-sha256"], SECRET)
        return Response.text(200 if valid else 401, "ok" if valid else "bad hmac")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.server.start()
    yield receiver
    receiver.server.stop()


@pytest.fixture
def sender(receiver: Receiver, shop_world: World) -> ShopifyWebhookSender:
    return ShopifyWebhookSender(
        f"{receiver.server.base_url}/webhooks/shopify",
        SECRET,
        shop_domain=shop_world.shop_domain,
        clock=lambda: datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
    )


def test_signature_matches_the_notes_test_vector() -> None:
    body = b'{"id":1,"status":"delivered"}'
    assert signature(body, "hush") == "x40mspe+GebmjoFjiGThvEe5IG/KemFMwYCon9vSybw="
    assert verify_webhook(body, signature(body, "hush"), "hush")


def test_delivered_event_is_signed_and_carries_shopifys_headers(
    sender: ShopifyWebhookSender, receiver: Receiver, shop_world: World
) -> None:
    order = next(o for o in shop_world.orders.values() if o.delivered_at)
    delivery = sender.fulfillment_delivered(order, order.fulfillments[0])
    assert delivery.status == 200
    request = receiver.requests[0]
    assert request.headers["x-shopify-topic"] == "fulfillment_events/create"
    assert request.headers["x-shopify-shop-domain"] == shop_world.shop_domain
    assert request.headers["x-shopify-api-version"] == "2026-01"
    assert request.headers["x-shopify-triggered-at"] == "2026-11-02T09:30:00Z"
    assert request.headers["x-shopify-webhook-id"]
    assert request.headers["x-shopify-event-id"]
    assert request.headers["content-type"] == "application/json"
    payload = json.loads(request.body)
    rest_shape = sample("rest_fulfillment_event_shape.json")["fulfillment_event"]
    assert set(payload) == set(rest_shape)
    assert payload["status"] == "delivered"
    assert payload["order_id"] == order.id


def test_a_forged_delivery_fails_verification(
    sender: ShopifyWebhookSender, shop_world: World
) -> None:
    order = next(iter(shop_world.orders.values()))
    assert sender.send("orders/fulfilled", {"id": order.id}, secret="not-the-secret").status == 401


def test_redelivery_keeps_the_webhook_id_and_the_bytes(
    sender: ShopifyWebhookSender, receiver: Receiver, shop_world: World
) -> None:
    order = next(o for o in shop_world.orders.values() if o.fulfillments)
    first = sender.order_fulfilled(shop_world, order)
    sender.redeliver(first)
    a, b = receiver.requests
    assert a.headers["x-shopify-webhook-id"] == b.headers["x-shopify-webhook-id"]
    assert a.body == b.body
    payload = json.loads(a.body)
    assert payload["name"] == order.name
    assert payload["fulfillment_status"] == "fulfilled"


def test_refund_created_names_the_order_and_amount(
    sender: ShopifyWebhookSender, receiver: Receiver, shop_world: World
) -> None:
    order = next(o for o in shop_world.orders.values() if o.refunds)
    sender.refund_created(order, order.refunds[0])
    payload = json.loads(receiver.requests[0].body)
    assert receiver.requests[0].headers["x-shopify-topic"] == "refunds/create"
    assert payload["order_id"] == order.id
    assert payload["transactions"][0]["amount"] == f"{order.refunds[0].amount:.2f}"


def test_privacy_payloads_have_the_documented_keys(
    sender: ShopifyWebhookSender, receiver: Receiver, shop_world: World
) -> None:
    documented = sample("compliance_webhook_payloads.json")
    customer = next(
        c for c in shop_world.customers.values() if shop_world.orders_by_customer.get(c.id)
    )
    sender.customers_data_request(shop_world, customer)
    sender.customers_redact(shop_world, customer)
    sender.shop_redact()
    for request in receiver.requests:
        topic = request.headers["x-shopify-topic"]
        payload = json.loads(request.body)
        assert set(payload) == set(documented[topic]), topic
        assert payload["shop_domain"] == shop_world.shop_domain
    redact = json.loads(receiver.requests[1].body)
    assert redact["customer"]["id"] == customer.id
    assert redact["orders_to_redact"] == shop_world.orders_by_customer[customer.id]


def test_the_simulator_signs_with_its_own_webhook_secret(
    receiver: Receiver, shop_world: World
) -> None:
    simulator = ShopifySimulator(shop_world, webhook_secret=SECRET)
    sender = simulator.webhook_sender(f"{receiver.server.base_url}/webhooks/shopify")
    assert sender.shop_redact().status == 200
