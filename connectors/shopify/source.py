"""The :class:`~nps_engine.ports.OrderSource` for Shopify: incremental pages and bulk backfill.

Incremental reads page ``orders``/``customers`` sorted by ``UPDATED_AT`` within a window the job
freezes at the start of its run, with ``updated_at:>'after' AND updated_at:<='before'``. Shopify
stops a connection after 25,000 objects (https://shopify.dev/docs/api/usage/limits), so a window
holding more is read as several queries, each restarting just below the last ``updatedAt`` seen.

The customers search matches ``updated_at`` on a whole day (the schema's description of the
``customers(query:)`` filter), so that query starts a day early and the exact window is applied
here, record by record.

A backfill reads every order of the window through a bulk operation (no pagination cap, a few
points instead of thousands): start it, poll it, stream its JSONL to a spool file, then join the
child lines (returns) to their orders on ``__parentId`` in two passes, holding only the children
in memory (Shopify does not promise children follow their parent since 2026-01).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from connectors.shopify.client import ShopifyClient
from connectors.shopify.cost import operation_name
from connectors.shopify.customers import customer_from_node
from connectors.shopify.errors import (
    SYSTEM,
    BulkOperationFailed,
    QueryTooCostly,
    ShopifyAuthError,
    ShopifyRequestRejected,
    ShopifyTransientError,
)
from connectors.shopify.mapping import iso
from connectors.shopify.orders import order_from_node
from connectors.shopify.paging import PageSizer
from connectors.shopify.queries import (
    BULK_RUN,
    BULK_STATUS,
    CUSTOMERS_UPDATED,
    ORDERS_UPDATED,
    bulk_orders_query,
)
from nps_engine.records import Customer, Order

log = logging.getLogger(__name__)

R = TypeVar("R", Order, Customer)

PAGINATION_CAP = 25_000
ONE_SECOND = timedelta(seconds=1)
CUSTOMER_SEARCH_SLACK = timedelta(days=1)
BULK_DONE = {"COMPLETED"}
BULK_FAILED = {"FAILED", "CANCELED", "EXPIRED"}


class ShopifyOrderSource:
    """Orders and customers of one shop, read through ``client``."""

    def __init__(
        self,
        client: ShopifyClient,
        *,
        bulk_poll_seconds: float = 2.0,
        bulk_timeout_seconds: float = 6 * 3600,
        spool_dir: Path | None = None,
        page_cost: int | None = None,
        sizer: PageSizer | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        bulk_busy_timeout_seconds: float = 3600.0,
    ) -> None:
        self.client = client
        self.bulk_poll_seconds = bulk_poll_seconds
        self.bulk_timeout_seconds = bulk_timeout_seconds
        self.bulk_busy_timeout_seconds = bulk_busy_timeout_seconds
        self.spool_dir = spool_dir
        self.sizer = sizer or PageSizer()
        if page_cost is not None:
            self.page_cost = page_cost
        self._clock = clock
        self._sleep = sleep
        self.skipped = 0  # records Shopify sent that we could not read (logged by id)

    @property
    def page_cost(self) -> int:
        """The most one page may ask for (Shopify's limit: 1000)."""
        return self.sizer.max_query_cost

    @page_cost.setter
    def page_cost(self, value: int) -> None:
        self.sizer.max_query_cost = value

    def order_pages(
        self, updated_after: datetime | None, updated_before: datetime
    ) -> Iterator[Sequence[Order]]:
        return self._updated_pages(
            ORDERS_UPDATED, "orders", order_from_node, updated_after, updated_before
        )

    def customer_pages(
        self, updated_after: datetime | None, updated_before: datetime
    ) -> Iterator[Sequence[Customer]]:
        search_after = updated_after - CUSTOMER_SEARCH_SLACK if updated_after else None
        for page in self._updated_pages(
            CUSTOMERS_UPDATED, "customers", customer_from_node, search_after, updated_before
        ):
            kept = [c for c in page if _within(c.updated_at, updated_after, updated_before)]
            if kept:
                yield kept

    def _updated_pages(
        self,
        document: str,
        root: str,
        to_record: Callable[[Mapping[str, Any]], R],
        after: datetime | None,
        before: datetime,
    ) -> Iterator[list[R]]:
        start = after
        while True:
            search = _window_search(start, before)
            last_seen: datetime | None = None
            capped = False
            for records, read_so_far in self._one_search(document, root, to_record, search):
                yield records
                last_seen = max((r.updated_at for r in records if r.updated_at), default=last_seen)
                capped = read_so_far >= PAGINATION_CAP
            if not capped or last_seen is None:
                return
            restart = last_seen - ONE_SECOND
            if start is not None and restart <= start:
                raise ShopifyRequestRejected(
                    f"more than {PAGINATION_CAP} {root} share one updated_at second; "
                    "run a backfill (nps sync --full) instead",
                    system=SYSTEM,
                )
            start = restart

    def _one_search(
        self,
        document: str,
        root: str,
        to_record: Callable[[Mapping[str, Any]], R],
        search: str,
    ) -> Iterator[tuple[list[R], int]]:
        name = operation_name(document)
        cursor: str | None = None
        read = 0
        resized: int | None = None
        while True:
            first = resized or self._next_size(name, document, search)
            variables = {"first": first, "after": cursor, "query": search}
            expected = self.sizer.expected_cost(name, first)
            try:
                result = self.client.execute(document, variables, expected_cost=expected)
            except QueryTooCostly as refused:
                if first == 1:
                    raise
                resized = self.sizer.refused(name, first, refused.cost)
                log.info("shopify: %s cost %s at first=%s, now %s", name, refused.cost, first,
                         resized)  # fmt: skip
                continue
            resized = None
            self.sizer.learn(name, first, result.cost.get("requestedQueryCost"))
            connection = result.data[root]
            nodes = connection.get("nodes") or []
            read += len(nodes)
            yield self._records(nodes, to_record), read
            info = connection["pageInfo"]
            if not info["hasNextPage"] or read + first > PAGINATION_CAP:
                return
            cursor = info["endCursor"]

    def _next_size(self, name: str, document: str, search: str) -> int:
        return self.sizer.first(
            name, document, {"query": search}, self.client.bucket, self.client.now()
        )

    def _records(
        self, nodes: Sequence[Mapping[str, Any]], to_record: Callable[[Mapping[str, Any]], R]
    ) -> list[R]:
        records = []
        for node in nodes:
            try:
                records.append(to_record(node))
            except (KeyError, ValueError, TypeError) as exc:
                self.skipped += 1
                log.warning("skipped unreadable Shopify record %s: %s", node.get("id"), exc)
        return records

    def backfill_orders(self, created_after: datetime) -> Iterator[Order]:
        search = f"created_at:>'{iso(created_after)}'"
        operation_id = self._start_bulk(bulk_orders_query(search))
        url = self._wait_for_bulk(operation_id)
        if url is None:
            return
        with tempfile.TemporaryDirectory(dir=self.spool_dir) as folder:
            spool = Path(folder) / "orders.jsonl"
            self.client.download(url, spool)
            yield from self._joined_orders(spool)

    def _start_bulk(self, query: str) -> str:
        """Start the bulk query. Since API 2026-01 a shop runs up to five bulk queries per app
        at once (before, one); when all are taken (ours from another store's worker, or a run
        still finishing) Shopify answers OPERATION_IN_PROGRESS, and we wait for a free one."""
        deadline = self._clock() + self.bulk_busy_timeout_seconds
        wait = self.bulk_poll_seconds
        while True:
            payload = self.client.execute(BULK_RUN, {"query": query}).data["bulkOperationRunQuery"]
            errors = payload.get("userErrors") or []
            if not errors:
                return str(payload["bulkOperation"]["id"])
            message = "; ".join(str(e.get("message")) for e in errors)
            busy = any(e.get("code") == "OPERATION_IN_PROGRESS" for e in errors)
            if not busy:
                raise ShopifyRequestRejected(f"bulk query refused: {message}", system=SYSTEM)
            if self._clock() + wait > deadline:
                raise ShopifyTransientError(
                    f"bulk query refused for {self.bulk_busy_timeout_seconds:.0f} s: {message}",
                    system=SYSTEM,
                )
            log.info("shopify: every bulk query slot is taken, waiting %.0f s", wait)
            self._sleep(wait)
            wait = min(wait * 1.5, 30.0)

    def _wait_for_bulk(self, operation_id: str) -> str | None:
        """Poll until the operation ends; its result URL (None when it found nothing)."""
        deadline = self._clock() + self.bulk_timeout_seconds
        wait = self.bulk_poll_seconds
        while True:
            operation = self.client.execute(BULK_STATUS, {"id": operation_id}).data["bulkOperation"]
            status = operation["status"]
            if status in BULK_DONE:
                url = operation.get("url")
                return str(url) if url else None
            if status in BULK_FAILED:
                code = operation.get("errorCode")
                error = ShopifyAuthError if code == "ACCESS_DENIED" else BulkOperationFailed
                raise error(f"bulk operation {operation_id} ended {status} ({code})", system=SYSTEM)
            if self._clock() > deadline:
                raise BulkOperationFailed(
                    f"bulk operation {operation_id} still {status}", system=SYSTEM
                )
            self._sleep(wait)
            wait = min(wait * 1.5, 30.0)

    def _joined_orders(self, spool: Path) -> Iterator[Order]:
        returns = _children_by_parent(spool)
        with open(spool, "rb") as lines:
            for line in lines:
                row = _root_row(line)
                if row is None:
                    continue
                row["returns"] = returns.pop(row["id"], [])
                records = self._records([row], order_from_node)
                yield from records


def _children_by_parent(spool: Path) -> dict[str, list[dict[str, Any]]]:
    """First pass: the child lines (returns), small, grouped by their order's id."""
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    with open(spool, "rb") as lines:
        for line in lines:
            if b'"__parentId"' not in line:
                continue
            row = json.loads(line)
            parent = row.pop("__parentId", None)
            if parent is not None:
                children[parent].append({"status": row.get("status")})
    return children


def _root_row(line: bytes) -> dict[str, Any] | None:
    if not line.strip():
        return None
    row: dict[str, Any] = json.loads(line)
    return None if "__parentId" in row else row


def _window_search(after: datetime | None, before: datetime) -> str:
    upper = f"updated_at:<='{iso(before)}'"
    return f"updated_at:>'{iso(after)}' AND {upper}" if after else upper


def _within(moment: datetime | None, after: datetime | None, before: datetime) -> bool:
    if moment is None:
        return True
    return (after is None or moment > after) and moment <= before


def shopify_source(
    shop: str,
    access_token: str,
    *,
    api_version: str = "2026-01",
    api_base_url: str | None = None,
    timeout: float = 30.0,
) -> ShopifyOrderSource:
    """The production source for one shop, from plain settings values."""
    client = ShopifyClient(
        shop, access_token, api_version=api_version, api_base_url=api_base_url, timeout=timeout
    )
    return ShopifyOrderSource(client)
