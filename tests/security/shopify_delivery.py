"""Signed Shopify deliveries against the real receiver, for the security tests."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from starlette.applications import Starlette

from connectors.shopify.webhooks import ShopifyWebhookReader, signature
from nps_engine.records import Customer, Order
from nps_engine.store import models
from nps_engine.store.database import Database
from nps_engine.store.shop_data import upsert_customers, upsert_orders
from nps_engine.web.shopify_webhooks import PATH, Receiver, receiver_routes

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)
SECRET = "hush-hush-app-secret"
SHOP = "my-shop.myshopify.com"


@dataclass
class Probe:
    """A ``ShopAccessProbe``: ``accepts`` is what the Admin API would say of our token."""

    accepts: bool = True
    calls: list[datetime] = field(default_factory=list)

    def admin_api_accepts_us(self) -> bool:
        self.calls.append(NOW)
        return self.accepts


def client(database: Database, store: str, folder: Path, probe: Probe) -> TestClient:
    receiver = Receiver(
        store, SHOP, SECRET, folder, database, ShopifyWebhookReader(), shop_access=probe
    )
    return TestClient(Starlette(routes=receiver_routes(receiver, lambda: NOW)))


def deliver(
    http: TestClient,
    topic: str,
    payload: Any,
    *,
    webhook_id: str = "w-1",
    event_id: str | None = None,
    shop: str | None = SHOP,
    triggered_at: str | None = None,
    secret: str = SECRET,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature(body, secret),
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": event_id or f"event-{webhook_id}",
        "X-Shopify-Triggered-At": triggered_at or (NOW - timedelta(minutes=1)).isoformat(),
    }
    if shop is not None:
        headers["X-Shopify-Shop-Domain"] = shop
    return http.post(PATH, content=body, headers=headers)


def seed(database: Database, store: str, customers: int = 5) -> None:
    """Customers with one order each: what an erased store would lose."""
    with database.session() as session:
        upsert_customers(
            session,
            store,
            [
                Customer(
                    id=100 + n,
                    email=f"c{n}@example.com",
                    first_name="Ann",
                    updated_at=NOW - timedelta(days=3),
                )
                for n in range(customers)
            ],
            NOW,
        )
        upsert_orders(
            session,
            store,
            [
                Order(
                    id=5000 + n,
                    name=f"#{1000 + n}",
                    customer_id=100 + n,
                    email=f"c{n}@example.com",
                    created_at=NOW - timedelta(days=9),
                    updated_at=NOW - timedelta(days=8),
                )
                for n in range(customers)
            ],
            NOW,
        )


def count(database: Database, store: str, model: Any) -> int:
    with database.session() as session:
        query = select(func.count()).select_from(model).where(model.store == store)
        return int(session.scalar(query) or 0)


def counts(database: Database, store: str) -> tuple[int, int]:
    return count(database, store, models.Customer), count(database, store, models.Order)
