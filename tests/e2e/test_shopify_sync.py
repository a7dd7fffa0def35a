"""``sync_shopify`` against the Shopify simulator with faults on (5xx pages, resets)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from shopify_sandbox import WORLD_NOW, client, simulator, source, world
from sqlalchemy import func, select

from connectors.shopify.source import ShopifyOrderSource
from jobs.sync_shopify import ORDERS_CURSOR, sync_shopify
from nps_engine.records import Order, normalise_email
from nps_engine.store import models
from nps_engine.store.cursors import read_cursor
from nps_engine.store.database import Database
from sandbox.shopify.simulator import ShopifySimulator
from sandbox.traffic import Fault
from sandbox.world import World

__all__ = ["client", "simulator", "source", "world"]

GRAPHQL = "POST /admin/api/{version}/graphql.json"
NOW = WORLD_NOW + timedelta(minutes=5)
WINDOW_START = NOW - timedelta(days=365)


def seconds(moment: datetime | None) -> datetime | None:
    """Shopify serialises DateTimes to the second."""
    return moment.replace(microsecond=0) if moment else None


def stored_orders(database: Database, store: str) -> dict[int, models.Order]:
    with database.session() as session:
        rows = session.scalars(select(models.Order).where(models.Order.store == store))
        return {row.id: row for row in rows}


def assert_tracking(row: models.Order, order: Any) -> None:
    """Tracked when a fulfilment has a tracking number; the latest fulfilment's status."""
    assert row.tracked == any(f.tracking_number for f in order.fulfillments)
    latest = max(order.fulfillments, key=lambda f: f.created_at, default=None)
    assert row.delivery_status == (latest.display_status if latest else None)


def expected_order_ids(world: World) -> set[int]:
    return {o.id for o in world.orders.values() if o.updated_at > WINDOW_START}


def test_a_first_sync_brings_every_order_and_customer_of_the_window(
    sqlite_database: Database,
    store_id: str,
    world: World,
    source: ShopifyOrderSource,
    simulator: ShopifySimulator,
) -> None:
    source.page_cost = 300
    simulator.traffic.script_sequence(
        GRAPHQL,
        [
            None,
            Fault.gateway_error(502),
            Fault.reset(),
            None,
            Fault.signal("throttled"),
            Fault.signal("internal_error"),
            Fault.gateway_error(503),
        ],
    )
    summary = sync_shopify(sqlite_database, store_id, source, NOW)
    orders = stored_orders(sqlite_database, store_id)
    assert set(orders) == expected_order_ids(world)
    assert summary.orders == len(orders)
    for order in world.orders.values():
        if order.id not in orders:
            continue
        row = orders[order.id]
        assert row.customer_id == order.customer_id
        assert row.delivered_at == order.delivered_at
        assert row.returned == any(r.status not in ("DECLINED", "CANCELED") for r in order.returns)
        assert row.refunded == bool(order.refunds)
        assert row.cancelled_at == seconds(order.cancelled_at)
        assert_tracking(row, order)
    assert any(row.delivery_status == "IN_TRANSIT" and row.tracked for row in orders.values())
    with sqlite_database.session() as session:
        customers = {c.id: c for c in session.scalars(select(models.Customer))}
    updated = {c.id for c in world.customers.values() if c.updated_at > WINDOW_START}
    assert set(customers) == updated
    some = next(iter(customers.values()))
    assert some.email == normalise_email(world.customers[some.id].email)
    traffic = simulator.traffic.snapshot()
    assert traffic.faults >= 5  # the faults really happened
    assert traffic.throttled == 1


def test_a_second_sync_reads_only_what_changed(
    sqlite_database: Database,
    store_id: str,
    world: World,
    source: ShopifyOrderSource,
    simulator: ShopifySimulator,
) -> None:
    sync_shopify(sqlite_database, store_id, source, NOW)
    newest = max(o.updated_at for o in world.orders.values()).replace(microsecond=0)
    order = next(o for o in world.orders.values() if o.delivered_at is None and o.fulfillments)
    delivered = NOW + timedelta(minutes=1)
    first = order.fulfillments[0]
    with world.lock:
        order.fulfillments = (
            dataclasses.replace(first, delivered_at=delivered, display_status="DELIVERED"),
        )
        order.updated_at = delivered
    later = NOW + timedelta(minutes=10)
    summary = sync_shopify(sqlite_database, store_id, source, later)
    # The changed order, plus the ones sharing the previous cursor's second (read again on
    # purpose, and upserted idempotently).
    boundary = [o for o in world.orders.values() if o.updated_at.replace(microsecond=0) == newest]
    assert summary.orders == 1 + len(boundary)
    assert stored_orders(sqlite_database, store_id)[order.id].delivered_at == delivered
    with sqlite_database.session() as session:
        cursor = read_cursor(session, store_id, ORDERS_CURSOR)
    assert cursor is not None
    assert datetime.fromisoformat(cursor) == delivered


class CrashAfter:
    """A source that dies after handing over ``pages`` pages of orders."""

    def __init__(self, inner: ShopifyOrderSource, pages: int) -> None:
        self.inner = inner
        self.pages = pages
        self.given = 0

    def order_pages(self, after: datetime | None, before: datetime) -> Iterator[Sequence[Order]]:
        for page in self.inner.order_pages(after, before):
            if self.given == self.pages:
                raise RuntimeError("killed between pages")
            self.given += 1
            yield page

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_crash_between_pages_resumes_without_loss_or_duplicates(
    sqlite_database: Database,
    store_id: str,
    world: World,
    source: ShopifyOrderSource,
) -> None:
    source.page_cost = 100  # small pages: a few orders each
    crashing = CrashAfter(source, pages=2)
    with pytest.raises(RuntimeError, match="killed"):
        sync_shopify(sqlite_database, store_id, crashing, NOW)  # type: ignore[arg-type]
    halfway = stored_orders(sqlite_database, store_id)
    assert 0 < len(halfway) < len(expected_order_ids(world))
    with sqlite_database.session() as session:
        saved = read_cursor(session, store_id, ORDERS_CURSOR)
    assert saved is not None
    assert datetime.fromisoformat(saved) == max(o.updated_at for o in halfway.values())

    sync_shopify(sqlite_database, store_id, source, NOW)
    assert set(stored_orders(sqlite_database, store_id)) == expected_order_ids(world)
    with sqlite_database.session() as session:
        count = session.scalar(select(func.count()).select_from(models.Order))
    assert count == len(expected_order_ids(world))


def test_a_full_sync_backfills_the_window_by_bulk_operation(
    sqlite_database: Database,
    store_id: str,
    world: World,
    source: ShopifyOrderSource,
    simulator: ShopifySimulator,
) -> None:
    summary = sync_shopify(sqlite_database, store_id, source, NOW, full=True, backfill_days=365)
    created_in_window = {o.id for o in world.orders.values() if o.created_at > WINDOW_START}
    assert summary.backfilled_orders == len(created_in_window)
    orders = stored_orders(sqlite_database, store_id)
    assert created_in_window <= set(orders)
    returned = [o for o in world.orders.values() if o.id in created_in_window and o.returns]
    for order in returned:
        live = any(r.status not in ("DECLINED", "CANCELED") for r in order.returns)
        assert orders[order.id].returned == live
    for order_id in created_in_window:
        assert_tracking(orders[order_id], world.orders[order_id])
    # The incremental pass after the backfill starts from the backfill's window end.
    assert summary.orders == 0
