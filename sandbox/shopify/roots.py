"""Resolvers of the query root: connections, lookups by id, the shop."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.catalog import CUSTOMER_SORTS, ORDER_SORTS, by_id
from sandbox.shopify.filters import CUSTOMER_SEARCH, ORDER_SEARCH
from sandbox.shopify.gid import parse_gid
from sandbox.shopify.pages import PageArgs, connection
from sandbox.shopify.search import SearchFields, parse_search


def orders(_root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> dict[str, Any]:
    sort_key = args.get("sortKey", "PROCESSED_AT")
    keys, items = info.context.catalog.sorted_orders(sort_key)
    return _connection(info, args, keys, items, ORDER_SEARCH, by_id(sort_key, ORDER_SORTS))


def customers(_root: Any, info: GraphQLResolveInfo[Any], **args: Any) -> dict[str, Any]:
    sort_key = args.get("sortKey", "ID")
    keys, items = info.context.catalog.sorted_customers(sort_key)
    return _connection(info, args, keys, items, CUSTOMER_SEARCH, by_id(sort_key, CUSTOMER_SORTS))


def _connection(
    info: GraphQLResolveInfo[Any],
    args: dict[str, Any],
    keys: list[Any],
    items: list[Any],
    search: SearchFields,
    cursor_by_id: bool,
) -> dict[str, Any]:
    query = parse_search(args.get("query"))
    unknown = search.unknown(query)
    if unknown:
        info.context.search_warnings.append(
            {
                "path": [info.path.key],
                "query": args.get("query"),
                "warnings": [
                    {"field": name, "message": "Invalid search field for this query."}
                    for name in unknown
                ],
            }
        )
    return connection(
        keys,
        items,
        search.predicate(query),
        PageArgs.of(args),
        by_id=cursor_by_id,
        unbounded=info.context.unbounded,
    )


def node(_root: Any, info: GraphQLResolveInfo[Any], id: str) -> Any:
    kind, number = parse_gid(id)
    if kind == "BulkOperation":
        return info.context.bulk.observe(number)
    return info.context.catalog.node(kind, number)


def nodes(_root: Any, info: GraphQLResolveInfo[Any], ids: list[str]) -> list[Any]:
    return [node(_root, info, one) for one in ids]


def typed_node(kind: str) -> Any:
    def resolve(_root: Any, info: GraphQLResolveInfo[Any], id: str) -> Any:
        found_kind, number = parse_gid(id)
        return info.context.catalog.node(kind, number) if found_kind == kind else None

    return resolve


def current_app_installation(_root: Any, info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    return {
        "id": "gid://shopify/AppInstallation/1",
        "accessScopes": [{"handle": s, "description": s} for s in info.context.scopes],
    }


QUERY_ROOT = {
    "orders": orders,
    "customers": customers,
    "order": typed_node("Order"),
    "customer": typed_node("Customer"),
    "node": node,
    "nodes": nodes,
    "shop": lambda _root, info: info.context.catalog.shop,
    "currentAppInstallation": current_app_installation,
}
