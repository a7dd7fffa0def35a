"""Reading orders and customers: the search window, page sizes, mapping, bulk backfill."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import responses
from shopify_fakes import ShopifyApi, admin_schema, client, clock, ok, shopify_api

from connectors.shopify.client import ShopifyClient
from connectors.shopify.cost import estimated_cost
from connectors.shopify.errors import BulkOperationFailed, ShopifyTransientError
from connectors.shopify.queries import BULK_RUN, BULK_STATUS, ORDERS_UPDATED
from connectors.shopify.source import ShopifyOrderSource
from sandbox.clock import ManualClock

__all__ = ["admin_schema", "client", "clock", "shopify_api"]

AFTER = datetime(2026, 10, 1, tzinfo=UTC)
BEFORE = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
RESULT_URL = "https://storage.googleapis.com/shopify-tiers-assets-prod-us-east1/bulk-result.jsonl"


def order_node(number: int, **overrides: Any) -> dict[str, Any]:
    """An Order node as our query selects it, in the shape of the recorded captures."""
    node = {
        "id": f"gid://shopify/Order/{number}",
        "name": f"#{number}",
        "createdAt": "2026-10-02T09:00:00Z",
        "updatedAt": "2026-10-05T10:00:00Z",
        "cancelledAt": None,
        "email": "Karine.Ruby@Example.com ",
        "totalPriceSet": {"shopMoney": {"amount": "55.0", "currencyCode": "CAD"}},
        "customer": {"id": "gid://shopify/Customer/9522206933298"},
        "fulfillments": [
            {
                "status": "SUCCESS",
                "createdAt": "2026-10-03T08:00:00Z",
                "deliveredAt": "2026-10-04T15:30:00Z",
                "displayStatus": "DELIVERED",
            },
            {
                "status": "SUCCESS",
                "createdAt": "2026-10-03T09:00:00Z",
                "deliveredAt": "2026-10-05T09:00:00Z",
                "displayStatus": "DELIVERED",
            },
            {
                "status": "CANCELLED",
                "createdAt": "2026-10-02T10:00:00Z",
                "deliveredAt": None,
                "displayStatus": "CANCELED",
            },
        ],
        "refunds": [],
        "returnStatus": "NO_RETURN",
    }
    node.update(overrides)
    return node


def orders_page(nodes: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    info = {"hasNextPage": next_cursor is not None, "endCursor": next_cursor}
    return {"orders": {"pageInfo": info, "nodes": nodes}}


@pytest.fixture
def source(client: ShopifyClient, clock: ManualClock, tmp_path: Path) -> ShopifyOrderSource:
    return ShopifyOrderSource(client, spool_dir=tmp_path, clock=clock.monotonic, sleep=clock.sleep)


def test_orders_are_read_in_the_window_sorted_by_update_page_by_page(
    source: ShopifyOrderSource, shopify_api: ShopifyApi
) -> None:
    window = "updated_at:>'2026-10-01T00:00:00Z' AND updated_at:<='2026-11-01T12:00:00Z'"

    def first_page(payload: dict[str, Any]) -> None:
        assert "sortKey: UPDATED_AT" in payload["query"]
        variables = payload["variables"]
        assert variables["query"] == window
        assert variables["after"] is None
        assert 1 <= variables["first"] <= 250
        assert estimated_cost(ORDERS_UPDATED, variables) <= 1000

    def second_page(payload: dict[str, Any]) -> None:
        assert payload["variables"]["after"] == "cursor-1"
        assert payload["variables"]["query"] == window

    shopify_api.reply(ok(orders_page([order_node(1)], "cursor-1")), expect=first_page)
    shopify_api.reply(ok(orders_page([order_node(2)], None)), expect=second_page)
    pages = list(source.order_pages(AFTER, BEFORE))
    assert [[o.id for o in page] for page in pages] == [[1], [2]]


def test_an_order_becomes_a_record_with_delivery_refund_and_return_facts(
    source: ShopifyOrderSource, shopify_api: ShopifyApi
) -> None:
    nodes = [
        order_node(1),
        order_node(
            2, customer=None, fulfillments=[], email=None, cancelledAt="2026-10-03T00:00:00Z"
        ),
        order_node(
            3,
            refunds=[{"createdAt": "2026-10-06T00:00:00Z"}],
            returnStatus="IN_PROGRESS",
        ),
        order_node(4, returnStatus="NO_RETURN"),
    ]
    shopify_api.reply(ok(orders_page(nodes, None)))
    delivered, guest, refunded, declined = next(source.order_pages(AFTER, BEFORE))
    assert delivered.customer_id == 9522206933298
    assert delivered.email == "karine.ruby@example.com"
    # First live fulfilment, latest delivery; the cancelled fulfilment counts for neither.
    assert delivered.fulfilled_at == datetime(2026, 10, 3, 8, tzinfo=UTC)
    assert delivered.delivered_at == datetime(2026, 10, 5, 9, tzinfo=UTC)
    assert delivered.total_price == Decimal("55.0")
    assert delivered.currency == "CAD"
    assert (delivered.refunded, delivered.returned) == (False, False)
    assert guest.customer_id is None
    assert guest.delivered_at is None
    assert guest.cancelled_at == datetime(2026, 10, 3, tzinfo=UTC)
    assert (refunded.refunded, refunded.returned) == (True, True)
    assert declined.returned is False


def test_an_unreadable_order_is_skipped_and_the_rest_kept(
    source: ShopifyOrderSource, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(ok(orders_page([order_node(1, createdAt=None), order_node(2)], None)))
    (page,) = source.order_pages(AFTER, BEFORE)
    assert [o.id for o in page] == [2]
    assert source.skipped == 1


def test_customers_start_a_day_early_and_are_cut_to_the_exact_window(
    source: ShopifyOrderSource, shopify_api: ShopifyApi
) -> None:
    page = json.loads(json.dumps(CUSTOMERS))

    def expect(payload: dict[str, Any]) -> None:
        # Shopify matches customers' updated_at on whole days: ask from the day before.
        assert payload["variables"]["query"].startswith("updated_at:>'2026-09-30T00:00:00Z'")

    shopify_api.reply(ok(page), expect=expect)
    (customers,) = source.customer_pages(AFTER, BEFORE)
    assert [c.id for c in customers] == [9522206933298]
    karine = customers[0]
    assert karine.email == "karine.ruby@example.com"
    assert karine.orders_count == 13
    assert karine.total_spent == Decimal("11884.9")
    assert karine.marketing_state == "subscribed"
    assert karine.locale == "fr"
    assert karine.country == "CA"
    assert karine.tags == ("VIP", "nps:passive")


CUSTOMERS = {
    "customers": {
        "pageInfo": {"hasNextPage": False, "endCursor": "eyJsYXN0X2lkIjo5NTIyMjA2OTMzMjk4fQ=="},
        "nodes": [
            {
                "id": "gid://shopify/Customer/9522206933298",
                "firstName": "Karine",
                "lastName": "Ruby",
                "locale": "fr",
                "tags": ["VIP", "nps:passive"],
                "numberOfOrders": "13",
                "createdAt": "2025-03-26T19:51:37Z",
                "updatedAt": "2026-10-06T02:40:36Z",
                "defaultEmailAddress": {
                    "emailAddress": "Karine.Ruby@example.com",
                    "marketingState": "SUBSCRIBED",
                },
                "amountSpent": {"amount": "11884.9", "currencyCode": "CAD"},
                "defaultAddress": {"countryCodeV2": "CA"},
            },
            {
                "id": "gid://shopify/Customer/9522206966066",
                "firstName": "Ayumu",
                "lastName": "Hirano",
                "locale": "en",
                "tags": [],
                "numberOfOrders": "0",
                "createdAt": "2025-03-26T19:51:37Z",
                "updatedAt": "2026-09-30T19:51:37Z",
                "defaultEmailAddress": None,
                "amountSpent": {"amount": "0.0", "currencyCode": "CAD"},
                "defaultAddress": None,
            },
        ],
    }
}


def bulk_operation(status: str, url: str | None = None, code: str | None = None) -> dict[str, Any]:
    return {
        "bulkOperation": {
            "id": "gid://shopify/BulkOperation/8001977319730",
            "status": status,
            "errorCode": code,
            "objectCount": "3",
            "url": url,
            "partialDataUrl": None,
        }
    }


def bulk_run_created() -> dict[str, Any]:
    operation = bulk_operation("CREATED")["bulkOperation"]
    return {"bulkOperationRunQuery": {"bulkOperation": operation, "userErrors": []}}


def jsonl(*rows: dict[str, Any]) -> bytes:
    # Shopify escapes "/" as "\/" in its JSONL; json.loads reads either.
    return b"\n".join(json.dumps(r).replace("/", "\\/").encode() for r in rows) + b"\n"


def test_backfill_runs_a_bulk_query_polls_and_joins_children_on_parent_id(
    source: ShopifyOrderSource, clock: ManualClock, shopify_api: ShopifyApi
) -> None:
    def expect_run(payload: dict[str, Any]) -> None:
        assert payload["query"] == BULK_RUN
        assert "created_at:>'2025-11-01T00:00:00Z'" in payload["variables"]["query"]

    def expect_poll(payload: dict[str, Any]) -> None:
        assert payload["query"] == BULK_STATUS
        assert payload["variables"] == {"id": "gid://shopify/BulkOperation/8001977319730"}

    shopify_api.reply(ok(bulk_run_created()), expect=expect_run)
    shopify_api.reply(ok(bulk_operation("RUNNING"), requested=1, actual=1), expect=expect_poll)
    shopify_api.reply(ok(bulk_operation("COMPLETED", RESULT_URL), requested=1, actual=1))
    flat = {**order_node(1), "fulfillments": order_node(1)["fulfillments"]}
    del flat["returnStatus"]
    second = {**flat, "id": "gid://shopify/Order/2", "name": "#2"}
    body = jsonl(
        {"status": "OPEN", "__parentId": "gid://shopify/Order/2"},  # a child before its parent
        flat,
        second,
        {"status": "DECLINED", "__parentId": "gid://shopify/Order/1"},
    )
    shopify_api.mock.add(responses.GET, RESULT_URL, body="<html>502</html>", status=502)
    shopify_api.mock.add(responses.GET, RESULT_URL, body=body, content_type="application/jsonl")
    orders = list(source.backfill_orders(datetime(2025, 11, 1, tzinfo=UTC)))
    assert [(o.id, o.returned) for o in orders] == [(1, False), (2, True)]
    assert orders[0].delivered_at == datetime(2026, 10, 5, 9, tzinfo=UTC)
    # One poll interval between RUNNING and COMPLETED, then a backoff before the second download.
    assert clock.sleeps[0] == 2.0
    assert len(clock.sleeps) == 2


def test_a_backfill_that_finds_nothing_has_no_file_to_download(
    source: ShopifyOrderSource, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(ok(bulk_run_created()))
    shopify_api.reply(ok(bulk_operation("COMPLETED", None)))
    assert list(source.backfill_orders(datetime(2025, 11, 1, tzinfo=UTC))) == []


def test_a_failed_bulk_operation_is_reported_with_its_error_code(
    source: ShopifyOrderSource, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(ok(bulk_run_created()))
    shopify_api.reply(ok(bulk_operation("FAILED", code="TIMEOUT")))
    with pytest.raises(BulkOperationFailed, match="TIMEOUT"):
        list(source.backfill_orders(datetime(2025, 11, 1, tzinfo=UTC)))


BUSY = {
    "bulkOperationRunQuery": {
        "bulkOperation": None,
        "userErrors": [
            {
                "field": None,
                "code": "OPERATION_IN_PROGRESS",
                "message": "A bulk query operation for this app and shop is "
                "already in progress: gid://shopify/BulkOperation/1.",
            }
        ],
    }
}


def test_a_backfill_waits_for_a_free_bulk_query_slot(
    source: ShopifyOrderSource, shopify_api: ShopifyApi, clock: ManualClock
) -> None:
    shopify_api.reply(ok(BUSY))
    shopify_api.reply(ok(BUSY))
    shopify_api.reply(ok(bulk_run_created()))
    shopify_api.reply(ok(bulk_operation("COMPLETED", None)))
    assert list(source.backfill_orders(datetime(2025, 11, 1, tzinfo=UTC))) == []
    assert clock.sleeps[:2] == [2.0, 3.0]  # waited, longer each time, then started


def test_a_bulk_slot_that_never_frees_up_is_a_transient_refusal_naming_it(
    source: ShopifyOrderSource, shopify_api: ShopifyApi, clock: ManualClock
) -> None:
    source.bulk_busy_timeout_seconds = 10
    for _ in range(4):  # waits of 2, 3 and 4.5 s fit in 10; the next would not
        shopify_api.reply(ok(BUSY))
    with pytest.raises(ShopifyTransientError, match="already in progress"):
        list(source.backfill_orders(datetime(2025, 11, 1, tzinfo=UTC)))
    assert sum(clock.sleeps) <= 10


def test_a_query_too_costly_is_resized_at_once_from_the_reported_cost(
    source: ShopifyOrderSource, shopify_api: ShopifyApi
) -> None:
    too_costly = {
        "errors": [
            {
                "message": "Query cost is 1200, which exceeds the single query max cost limit "
                "(1000).",
                "extensions": {"code": "MAX_COST_EXCEEDED", "cost": 1200, "maxCost": 1000},
            }
        ]
    }
    sizes: list[int] = []
    shopify_api.reply(too_costly, expect=lambda p: sizes.append(p["variables"]["first"]))
    shopify_api.reply(
        ok(orders_page([order_node(1)], None)),
        expect=lambda p: sizes.append(p["variables"]["first"]),
    )
    assert [o.id for page in source.order_pages(AFTER, BEFORE) for o in page] == [1]
    # Not halved: sized so the reported cost per node fills 90% of the 1000-point limit.
    assert sizes[1] == math.floor(900 / (1200 / sizes[0]))
    assert len(sizes) == 2


def test_a_window_beyond_the_pagination_cap_restarts_below_the_last_update(
    source: ShopifyOrderSource, shopify_api: ShopifyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Shopify stops a connection after 25,000 objects; here the cap is 2, pages hold 1 order.
    monkeypatch.setattr("connectors.shopify.source.PAGINATION_CAP", 2)
    source.page_cost = 12
    searches: list[str] = []

    def record(payload: dict[str, Any]) -> None:
        searches.append(payload["variables"]["query"])

    shopify_api.reply(ok(orders_page([order_node(1)], "c1")), expect=record)
    second = order_node(2, updatedAt="2026-10-07T08:00:00Z")
    shopify_api.reply(ok(orders_page([second], "c2")), expect=record)
    third = order_node(3, updatedAt="2026-10-08T08:00:00Z")
    shopify_api.reply(ok(orders_page([third], None)), expect=record)
    ids = [o.id for page in source.order_pages(AFTER, BEFORE) for o in page]
    assert ids == [1, 2, 3]
    assert searches[2].startswith("updated_at:>'2026-10-07T07:59:59Z'")
