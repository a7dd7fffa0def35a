"""The sync job's cursor rules, with a fake source: window frozen, boundary re-read, no regress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fakes import FakeOrderSource

from jobs.sync_shopify import CUSTOMERS_CURSOR, ORDERS_CURSOR, SEARCH_LAG, sync_shopify
from nps_engine.records import Customer, Order
from nps_engine.store.cursors import read_cursor
from nps_engine.store.database import Database

NOW = datetime(2026, 11, 1, 12, tzinfo=UTC)


def order(number: int, updated_at: datetime) -> Order:
    return Order(number, f"#{number}", None, None, updated_at - timedelta(days=1), updated_at)


def shop(pages: list[list[Order]], backfill: list[Order] | None = None) -> FakeOrderSource:
    """A shop whose one customer changed an hour ago."""
    customer = Customer(1, "a@example.com", updated_at=NOW - timedelta(hours=1))
    return FakeOrderSource(pages, customers=[[customer]], backfill=backfill or [])


def cursor(database: Database, store: str, name: str) -> datetime | None:
    with database.session() as session:
        value = read_cursor(session, store, name)
    return datetime.fromisoformat(value) if value else None


def test_the_first_run_reads_the_backfill_window_up_to_a_frozen_end(
    sqlite_database: Database, store_id: str
) -> None:
    newest = NOW - timedelta(hours=2)
    source = shop([[order(1, NOW - timedelta(days=3))], [order(2, newest)]])
    summary = sync_shopify(sqlite_database, store_id, source, NOW, backfill_days=30)
    assert source.windows == [(NOW - timedelta(days=30), NOW - SEARCH_LAG)]
    assert (summary.orders, summary.customers) == (2, 1)
    assert cursor(sqlite_database, store_id, ORDERS_CURSOR) == newest
    assert cursor(sqlite_database, store_id, CUSTOMERS_CURSOR) == NOW - timedelta(hours=1)


def test_the_next_run_starts_a_second_before_the_cursor_and_never_moves_it_back(
    sqlite_database: Database, store_id: str
) -> None:
    newest = NOW - timedelta(hours=2)
    sync_shopify(sqlite_database, store_id, shop([[order(2, newest)]]), NOW)
    # Only the boundary record comes back (its second is read again on purpose).
    again = shop([[order(2, newest)]])
    sync_shopify(sqlite_database, store_id, again, NOW + timedelta(minutes=15))
    assert again.windows[0][0] == newest - timedelta(seconds=1)
    assert cursor(sqlite_database, store_id, ORDERS_CURSOR) == newest


def test_a_full_sync_backfills_then_reads_only_what_changed_since(
    sqlite_database: Database, store_id: str
) -> None:
    source = shop([], backfill=[order(n, NOW - timedelta(days=n)) for n in range(1, 8)])
    summary = sync_shopify(sqlite_database, store_id, source, NOW, full=True, backfill_days=365)
    assert summary.backfilled_orders == 7
    assert source.backfilled_after == NOW - timedelta(days=365)
    window_end = NOW - SEARCH_LAG
    assert cursor(sqlite_database, store_id, ORDERS_CURSOR) == window_end
    assert source.windows == [(window_end - timedelta(seconds=1), window_end)]


def test_a_run_with_nothing_new_records_that_the_cursor_is_checked_up_to_its_window(
    sqlite_database: Database, store_id: str
) -> None:
    from nps_engine.store.models import Cursor

    newest = NOW - timedelta(days=3)
    sync_shopify(sqlite_database, store_id, shop([[order(2, newest)]]), NOW)
    later = NOW + timedelta(hours=6)
    sync_shopify(sqlite_database, store_id, shop([]), later)
    with sqlite_database.session() as session:
        row = session.get(Cursor, (store_id, ORDERS_CURSOR))
        assert row is not None
        assert (datetime.fromisoformat(row.value), row.updated_at) == (newest, later - SEARCH_LAG)
