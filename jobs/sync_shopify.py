"""Pull Shopify customers and orders into the store: incremental by ``updated_at``, or a bulk
backfill of the configured window.

Cursor rules (the dlt model): the window's upper bound is frozen when the run starts (``now``
minus a short lag, because Shopify's search index trails writes by a few seconds), so records
updated during the run wait for the next one instead of shifting pages under us. Each page is
committed in one transaction with the cursor it advances, set to the newest ``updated_at``
committed, so a crash between pages resumes exactly there. The next read starts one second
before the cursor: Shopify's timestamps have one-second resolution, so records sharing the
cursor's second are read again and upserted idempotently instead of being lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from jobs.runtime.progress import ProgressFn
from nps_engine.ports import OrderSource
from nps_engine.records import Customer, Order
from nps_engine.store.cursors import read_cursor, save_cursor
from nps_engine.store.database import Database
from nps_engine.store.shop_data import upsert_customers, upsert_orders

ORDERS_CURSOR = "shopify.orders"
CUSTOMERS_CURSOR = "shopify.customers"
SEARCH_LAG = timedelta(seconds=60)
BOUNDARY_OVERLAP = timedelta(seconds=1)
BACKFILL_BATCH = 500

R = TypeVar("R", Customer, Order)


@dataclass
class SyncSummary:
    window_end: datetime
    customers: int = 0
    orders: int = 0
    backfilled_orders: int = 0
    pages: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "customers": self.customers,
            "orders": self.orders,
            "backfilled_orders": self.backfilled_orders,
            "pages": self.pages,
        }


def sync_shopify(
    database: Database,
    store_id: str,
    source: OrderSource,
    now: datetime,
    *,
    full: bool = False,
    backfill_days: int = 365,
    progress: ProgressFn | None = None,
    lag: timedelta = SEARCH_LAG,
) -> SyncSummary:
    """Sync customers, then orders. ``full`` re-reads the last ``backfill_days`` of orders with a
    bulk operation first. A first run without a cursor reads the same window incrementally."""
    report = progress or _silent
    summary = SyncSummary(window_end=now - lag)
    oldest = now - timedelta(days=backfill_days)
    summary.customers = _incremental(
        database, store_id, CUSTOMERS_CURSOR, source.customer_pages, upsert_customers,
        oldest, summary, lambda n: report("shopify customers", n),
    )  # fmt: skip
    if full:
        summary.backfilled_orders = _backfill(
            database, store_id, source.backfill_orders(oldest), now,
            lambda n: report("shopify backfill", n),
        )  # fmt: skip
        _advance_cursor_after_backfill(database, store_id, summary.window_end, now)
    summary.orders = _incremental(
        database, store_id, ORDERS_CURSOR, source.order_pages, upsert_orders,
        oldest, summary, lambda n: report("shopify orders", n),
    )  # fmt: skip
    return summary


def _incremental(
    database: Database,
    store_id: str,
    cursor_name: str,
    pages: Callable[[datetime | None, datetime], Iterator[Sequence[R]]],
    store_page: Callable[[Session, str, Sequence[R], datetime], int],
    oldest: datetime,
    summary: SyncSummary,
    report: Callable[[int], None],
) -> int:
    with database.session() as session:
        saved = read_cursor(session, store_id, cursor_name)
    cursor = datetime.fromisoformat(saved) if saved else None
    start = cursor - BOUNDARY_OVERLAP if cursor else oldest
    done = 0
    for page in pages(start, summary.window_end):
        newest = max((r.updated_at for r in page if r.updated_at is not None), default=None)
        with database.session() as session:
            done += store_page(session, store_id, page, summary.window_end)
            if newest is not None and (cursor is None or newest > cursor):
                cursor = newest
                save_cursor(session, store_id, cursor_name, cursor.isoformat(), summary.window_end)
        summary.pages += 1
        report(done)
    if cursor is not None:
        # Everything up to the window's end has been read, moved or not: say so, so `nps status`
        # shows an idle shop as caught up rather than behind.
        with database.session() as session:
            save_cursor(session, store_id, cursor_name, cursor.isoformat(), summary.window_end)
    return done


def _backfill(
    database: Database,
    store_id: str,
    orders: Iterable[Order],
    now: datetime,
    report: Callable[[int], None],
) -> int:
    done = 0
    batch: list[Order] = []
    for order in orders:
        batch.append(order)
        if len(batch) >= BACKFILL_BATCH:
            done += _commit_orders(database, store_id, batch, now)
            batch = []
            report(done)
    done += _commit_orders(database, store_id, batch, now)
    report(done)
    return done


def _commit_orders(database: Database, store_id: str, batch: list[Order], now: datetime) -> int:
    with database.session() as session:
        return upsert_orders(session, store_id, batch, now)


def _advance_cursor_after_backfill(
    database: Database, store_id: str, window_end: datetime, now: datetime
) -> None:
    """The bulk snapshot covers every order of the window up to when it ran, after
    ``window_end``: an incremental read only needs what changed since."""
    with database.session() as session:
        saved = read_cursor(session, store_id, ORDERS_CURSOR)
        if saved is None or datetime.fromisoformat(saved) < window_end:
            save_cursor(session, store_id, ORDERS_CURSOR, window_end.isoformat(), now)


def _silent(task: str, done: int, total: int | None = None) -> None:
    return None
