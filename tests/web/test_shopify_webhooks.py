"""``POST /webhooks/shopify``: signature, de-duplication, malformed bodies, topics applied."""

from __future__ import annotations

import json
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeShopAccessProbe, FakeShopifyWebhookReader
from sqlalchemy import func, select
from starlette.applications import Starlette

from connectors.shopify.webhooks import ShopifyWebhookReader, signature
from nps_engine.records import Order
from nps_engine.shop_events import OrderDelivered
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.store.shop_data import upsert_orders
from nps_engine.web.shopify_webhooks import PATH, Receiver, receiver_routes

with warnings.catch_warnings():
    # Starlette 1.x nudges towards the httpx2 fork at import time; httpx works the same here.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
SECRET = "hush-hush-app-secret"
SHOP = "my-shop.myshopify.com"
ORDER = Order(
    id=450789469,
    name="#1001",
    customer_id=207119551,
    email="bob@example.com",
    created_at=NOW - timedelta(days=9),
    updated_at=NOW - timedelta(days=8),
)
DELIVERED = {
    "id": 1,
    "fulfillment_id": 2,
    "status": "delivered",
    "order_id": 450789469,
    "happened_at": "2026-10-30T10:00:00-04:00",
}


@pytest.fixture
def http(database: Database, store_id: str, tmp_path: Path) -> TestClient:
    receiver = Receiver(
        store_id, SHOP, SECRET, tmp_path / "exports", database, ShopifyWebhookReader(),
        FakeShopAccessProbe(accepts=False),  # the app is uninstalled: its token is refused
    )  # fmt: skip
    return TestClient(Starlette(routes=receiver_routes(receiver, lambda: NOW)))


def deliver(
    http: TestClient,
    topic: str,
    payload: dict[str, Any] | bytes,
    *,
    webhook_id: str = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
    secret: str = SECRET,
    event_id: str | None = None,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature(body, secret),
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": event_id or f"event-of-{webhook_id}",
        "X-Shopify-API-Version": "2026-01",
    }
    return http.post(PATH, content=body, headers=headers)


def delivered_at(database: Database, store: str) -> datetime | None:
    with database.session() as session:
        order = session.get(models.Order, (store, ORDER.id))
        assert order is not None
        return order.delivered_at


def deliveries(database: Database, store: str) -> int:
    with database.session() as session:
        query = select(func.count()).select_from(models.WebhookEvent)
        return int(session.scalar(query.where(models.WebhookEvent.store == store)) or 0)


def test_a_delivery_event_marks_the_order_delivered_at_once(
    http: TestClient, database: Database, store_id: str
) -> None:
    with database.session() as session:
        upsert_orders(session, store_id, [ORDER], NOW)
    response = deliver(
        http,
        "fulfillment_events/create",
        DELIVERED,
        event_id="98880550-7158-44d4-b7cd-2c97c8a091b5",
    )
    assert response.status_code == 200
    assert delivered_at(database, store_id) == datetime(2026, 10, 30, 14, tzinfo=UTC)
    with database.session() as session:
        event = session.scalars(
            select(models.WebhookEvent).where(models.WebhookEvent.store == store_id)
        ).one()
        assert event.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"


def test_a_forged_signature_is_refused_with_401_and_nothing_changes(
    http: TestClient, database: Database, store_id: str
) -> None:
    with database.session() as session:
        upsert_orders(session, store_id, [ORDER], NOW)
    response = deliver(http, "fulfillment_events/create", DELIVERED, secret="not-the-secret")
    assert response.status_code == 401
    assert delivered_at(database, store_id) is None
    assert deliveries(database, store_id) == 0


def test_a_redelivery_is_acknowledged_and_not_applied_twice(
    http: TestClient, database: Database, store_id: str, tmp_path: Path
) -> None:
    payload = {
        "shop_id": 1,
        "shop_domain": SHOP,
        "customer": {"id": 207119551},
        "orders_requested": [450789469],
        "data_request": {"id": 9999},
    }
    first = deliver(http, "customers/data_request", payload)
    again = deliver(http, "customers/data_request", payload)
    assert (first.json(), again.json()) == ({"status": "applied"}, {"status": "duplicate"})
    assert len(list((tmp_path / "exports").iterdir())) == 1


def test_malformed_json_is_a_400_and_nothing_is_stored(
    http: TestClient, database: Database, store_id: str
) -> None:
    response = deliver(http, "refunds/create", b'{"order_id": 450789469,')
    assert response.status_code == 400
    missing = deliver(http, "refunds/create", {"id": 5}, webhook_id="another-delivery")
    assert missing.status_code == 400
    assert "order_id" in missing.json()["error"]
    assert deliveries(database, store_id) == 0


def test_customers_redact_blanks_the_customer_and_shop_redact_empties_the_store(
    http: TestClient, database: Database, store_id: str
) -> None:
    with database.session() as session:
        upsert_orders(session, store_id, [ORDER], NOW)
    redact = {
        "shop_id": 1,
        "shop_domain": SHOP,
        "customer": {"id": 207119551, "email": "bob@example.com"},
        "orders_to_redact": [450789469],
    }
    assert deliver(http, "customers/redact", redact, webhook_id="r1").status_code == 200
    with database.session() as session:
        order = session.get(models.Order, (store_id, ORDER.id))
        assert order is not None
        assert order.email is None
    shop = {"shop_id": 1, "shop_domain": SHOP}
    assert deliver(http, "shop/redact", shop, webhook_id="r2").status_code == 200
    with database.session() as session:
        assert session.get(models.Order, (store_id, ORDER.id)) is None


def test_an_order_not_synced_yet_is_acknowledged_for_the_sync_to_bring(
    http: TestClient, database: Database, store_id: str
) -> None:
    response = deliver(http, "refunds/create", {"id": 5, "order_id": 450789469})
    assert response.json() == {"status": "order not synced yet"}


def test_the_receiver_applies_what_its_reader_says_and_only_when_signed(
    database: Database, store_id: str, tmp_path: Path
) -> None:
    """The receiver against the port alone (``FakeShopifyWebhookReader``): what it does with a
    signed, an unsigned, an ignored and a malformed delivery, whatever the vendor's JSON."""
    with database.session() as session:
        upsert_orders(session, store_id, [ORDER], NOW)
    delivered = NOW - timedelta(hours=3)
    reader = FakeShopifyWebhookReader(
        {"fulfillment_events/create": OrderDelivered(ORDER.id, delivered)}
    )
    receiver = Receiver(store_id, SHOP, SECRET, tmp_path / "exports", database, reader)
    http = TestClient(Starlette(routes=receiver_routes(receiver, lambda: NOW)))

    def post(topic: str, body: dict[str, Any], signed: str, webhook_id: str) -> Any:
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signed,
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": webhook_id,
        }
        return http.post(PATH, content=json.dumps(body).encode(), headers=headers)

    good = FakeShopifyWebhookReader.signed(SECRET)
    assert post("fulfillment_events/create", {"id": 1}, "forged", "w1").status_code == 401
    assert reader.read == []  # an unsigned body is never read
    assert post("fulfillment_events/create", {}, good, "w2").status_code == 400
    assert post("shop/update", {"id": 1}, good, "w3").json() == {"status": "ignored"}
    assert delivered_at(database, store_id) is None
    assert post("fulfillment_events/create", {"id": 1}, good, "w4").status_code == 200
    assert delivered_at(database, store_id) == delivered
    assert deliveries(database, store_id) == 2  # the ignored topic and the applied one


@pytest.mark.parametrize(
    ("accepts", "down", "status"),
    [
        (True, False, 403),  # still installed: a replayed or forged delivery
        (False, True, 503),  # cannot tell now: Shopify will retry
    ],
)
def test_shop_redact_waits_for_access_to_be_really_gone(
    database: Database, store_id: str, tmp_path: Path, accepts: bool, down: bool, status: int
) -> None:
    with database.session() as session:
        upsert_orders(session, store_id, [ORDER], NOW)
    probe = FakeShopAccessProbe(accepts=accepts, down=down)
    receiver = Receiver(store_id, SHOP, SECRET, tmp_path, database, ShopifyWebhookReader(), probe)
    http = TestClient(Starlette(routes=receiver_routes(receiver, lambda: NOW)))
    response = deliver(http, "shop/redact", {"shop_id": 1, "shop_domain": SHOP})
    assert response.status_code == status
    assert probe.asked == 1
    with database.session() as session:
        assert session.get(models.Order, (store_id, ORDER.id)) is not None
