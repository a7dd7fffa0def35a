"""The simulator's webhook deliveries (its REST payloads and signatures) through our receiver."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from shopify_sandbox import WORLD_NOW, world
from starlette.applications import Starlette

from connectors.shopify.webhooks import ShopifyWebhookReader
from nps_engine.records import Order
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.store.shop_data import upsert_orders
from nps_engine.web.shopify_webhooks import PATH, Receiver, receiver_routes
from sandbox.shopify import webhooks as sandbox_webhooks
from sandbox.world import Order as SandboxOrder
from sandbox.world import World

with warnings.catch_warnings():
    # Starlette 1.x nudges towards the httpx2 fork at import time; httpx works the same here.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

__all__ = ["world"]

SECRET = "sandbox-app-secret"


def post(http: TestClient, world: World, topic: str, payload: dict[str, Any], n: int) -> Any:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sandbox_webhooks.signature(body, SECRET),
        "X-Shopify-Shop-Domain": world.shop_domain,
        "X-Shopify-Webhook-Id": f"delivery-{n}",
    }
    return http.post(PATH, content=body, headers=headers)


def test_the_simulators_order_delivery_and_refund_payloads_update_the_order(
    sqlite_database: Database, store_id: str, world: World, tmp_path: Path
) -> None:
    receiver = Receiver(
        store_id, world.shop_domain, SECRET, tmp_path, sqlite_database, ShopifyWebhookReader()
    )
    http = TestClient(Starlette(routes=receiver_routes(receiver, lambda: WORLD_NOW)))
    order = next(o for o in world.orders.values() if o.refunds and o.fulfillments and o.customer_id)
    fulfilment = order.fulfillments[0]
    fulfilled = post(
        http, world, "orders/fulfilled", sandbox_webhooks.order_payload(world, order), 1
    )
    assert fulfilled.json() == {"status": "applied"}
    event = sandbox_webhooks.delivered_event_payload(order, fulfilment)
    assert post(http, world, "fulfillment_events/create", event, 2).status_code == 200
    refund = sandbox_webhooks.refund_payload(order, order.refunds[0])
    assert post(http, world, "refunds/create", refund, 3).status_code == 200
    with sqlite_database.session() as session:
        row = session.get(models.Order, (store_id, order.id))
        assert row is not None
        assert row.customer_id == order.customer_id
        assert row.fulfilled_at is not None
        assert row.delivered_at == (fulfilment.delivered_at or fulfilment.updated_at).replace(
            microsecond=0
        )
        assert row.refunded is True


def test_the_simulators_privacy_payloads_are_understood(
    sqlite_database: Database, store_id: str, world: World, tmp_path: Path
) -> None:
    exports = tmp_path / "exports"
    receiver = Receiver(
        store_id, world.shop_domain, SECRET, exports, sqlite_database, ShopifyWebhookReader()
    )
    http = TestClient(Starlette(routes=receiver_routes(receiver, lambda: WORLD_NOW)))
    order = next(o for o in world.orders.values() if o.customer_id)
    with sqlite_database.session() as session:
        upsert_orders(session, store_id, [_record(order)], WORLD_NOW)
    customer = world.customers[order.customer_id]  # type: ignore[index]
    shop = {"shop_id": sandbox_webhooks.SHOP_ID, "shop_domain": world.shop_domain}
    request = {
        **shop,
        "customer": {"id": customer.id, "email": customer.email},
        "orders_requested": [order.id],
        "data_request": {"id": 1},
    }
    assert post(http, world, "customers/data_request", request, 1).status_code == 200
    assert len(list(exports.iterdir())) == 1
    redact = {
        **shop,
        "customer": {"id": customer.id, "email": customer.email},
        "orders_to_redact": [order.id],
    }
    assert post(http, world, "customers/redact", redact, 2).status_code == 200
    with sqlite_database.session() as session:
        row = session.get(models.Order, (store_id, order.id))
        assert row is not None
        assert row.email is None


def _record(order: SandboxOrder) -> Order:
    return Order(
        id=order.id,
        name=order.name,
        customer_id=order.customer_id,
        email=order.email,
        created_at=order.created_at,
        updated_at=order.updated_at,
    )
