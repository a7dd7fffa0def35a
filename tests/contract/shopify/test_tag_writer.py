"""Writing tags: tagsRemove then tagsAdd, many customers per request, userErrors per customer."""

from __future__ import annotations

from typing import Any

import pytest
from shopify_fakes import ShopifyApi, admin_schema, client, clock, ok, shopify_api

from connectors.shopify.client import ShopifyClient
from connectors.shopify.errors import ShopifyAuthError
from connectors.shopify.tags import ShopifyTagWriter
from nps_engine.ports import TagChange

__all__ = ["admin_schema", "client", "clock", "shopify_api"]

TOO_LARGE = "The input array size of 251 is greater than the maximum allowed of 250."
NOT_FOUND = [{"field": ["id"], "message": "Customer does not exist"}]


def change(customer_id: int, add: tuple[str, ...], remove: tuple[str, ...] = ()) -> TagChange:
    return TagChange(customer_id, None, add, remove, add)


def mutation_result(count: int, errors: dict[int, list[dict[str, Any]]] | None = None) -> dict:
    errors = errors or {}
    return {
        f"m{i}": {
            "node": None if i in errors else {"id": "gid://shopify/Customer/1"},
            "userErrors": errors.get(i, []),
        }
        for i in range(count)
    }


def test_stale_tags_are_removed_before_new_ones_are_added_in_one_request(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    def expect(payload: dict[str, Any]) -> None:
        document = payload["query"]
        assert "customerUpdate" not in document
        assert document.index("m0: tagsRemove") < document.index("m1: tagsAdd")
        assert document.index("m1: tagsAdd") < document.index("m2: tagsAdd")
        assert payload["variables"] == {
            "id0": "gid://shopify/Customer/7",
            "tags0": ["nps:passive", "nps-score:8"],
            "id1": "gid://shopify/Customer/7",
            "tags1": ["nps:promoter", "nps-score:10"],
            "id2": "gid://shopify/Customer/8",
            "tags2": ["nps:detractor"],
        }

    shopify_api.reply(ok(mutation_result(3), requested=30, actual=30), expect=expect)
    writer = ShopifyTagWriter(client)
    outcomes = list(
        writer.push(
            [
                change(7, ("nps:promoter", "nps-score:10"), ("nps:passive", "nps-score:8")),
                change(8, ("nps:detractor",)),
            ]
        )
    )
    assert [(o.customer_id, o.ok) for o in outcomes] == [(7, True), (8, True)]


def test_a_deleted_customer_fails_alone_and_is_not_retryable(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(ok(mutation_result(3, {1: NOT_FOUND}), requested=30, actual=30))
    writer = ShopifyTagWriter(client)
    outcomes = {
        o.customer_id: o
        for o in writer.push([change(1, ("a",)), change(2, ("b",)), change(3, ("c",))])
    }
    assert outcomes[1].ok
    assert outcomes[3].ok
    assert not outcomes[2].ok
    assert outcomes[2].retryable is False
    assert outcomes[2].error == "Customer does not exist"


def test_a_large_push_is_split_so_each_request_stays_under_the_cost_limit(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    # 60 customers x (remove + add) = 120 mutations x 10 points: two requests of <= 1000.
    sizes: list[int] = []

    def expect(payload: dict[str, Any]) -> None:
        sizes.append(len(payload["variables"]) // 2)

    shopify_api.reply(ok(mutation_result(100), requested=1000, actual=1000), expect=expect)
    shopify_api.reply(ok(mutation_result(20), requested=200, actual=200), expect=expect)
    changes = [change(i, ("nps:promoter",), ("nps:passive",)) for i in range(60)]
    outcomes = list(ShopifyTagWriter(client).push(changes))
    assert sizes == [100, 20]
    assert all(o.ok for o in outcomes)
    assert len(outcomes) == 60


def test_a_request_that_fails_as_a_whole_fails_its_customers_and_the_push_goes_on(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(
        {"errors": [{"message": TOO_LARGE, "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"}}]}
    )
    writer = ShopifyTagWriter(client, max_request_cost=10)
    shopify_api.reply(ok(mutation_result(1)))
    outcomes = list(writer.push([change(1, ("a",)), change(2, ("b",))]))
    assert [(o.customer_id, o.ok, o.retryable) for o in outcomes] == [
        (1, False, False),
        (2, True, True),
    ]


def test_an_access_denied_write_stops_the_push(
    client: ShopifyClient, shopify_api: ShopifyApi
) -> None:
    shopify_api.reply(
        {
            "errors": [
                {
                    "message": "Access denied for tagsAdd field.",
                    "path": ["m0"],
                    "extensions": {"code": "ACCESS_DENIED"},
                }
            ],
            "data": {"m0": None},
        }
    )
    with pytest.raises(ShopifyAuthError, match=r"Access denied.*write_customers"):
        list(ShopifyTagWriter(client).push([change(1, ("a",))]))
