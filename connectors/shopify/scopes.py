"""Which access scope an ACCESS_DENIED answer asks for, so the owner knows what to grant.

Shopify names only the field it refused (``path``); the scope each field needs comes from the
Admin API reference (https://shopify.dev/docs/api/usage/access-scopes).
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import DocumentNode, FieldNode, GraphQLError, Visitor, parse, visit

# Fields we read or write, by the name Shopify puts in ``path``; the first match wins, deepest
# field first (``orders.returns`` needs read_returns even though ``orders`` is readable).
SCOPES = {
    "returns": "read_returns",
    "fulfillments": "read_fulfillments (or read_orders)",
    "refunds": "read_orders",
    "orders": "read_orders (and read_all_orders for orders older than 60 days)",
    "order": "read_orders",
    "customer": "read_customers",
    "customers": "read_customers",
    "defaultEmailAddress": "read_customers (and protected customer data access)",
    "tagsAdd": "write_customers",
    "tagsRemove": "write_customers",
    "bulkOperationRunQuery": "read_orders and read_customers",
    "discountCodeBasicCreate": "write_discounts",
    "codeDiscountNodeByCode": "read_discounts (or write_discounts)",
}

REQUIRED_SCOPES = (
    "read_orders",
    "read_all_orders",
    "read_customers",
    "write_customers",
    "read_fulfillments",
    "read_returns",
)
# Promoter rewards create discount codes (discountCodeBasicCreate, codeDiscountNodeByCode).
REWARD_SCOPES = ("write_discounts",)


def needed_scopes(rewards: bool) -> tuple[str, ...]:
    return REQUIRED_SCOPES + (REWARD_SCOPES if rewards else ())


def granted_covers(granted: Sequence[str], scope: str) -> bool:
    """Whether ``granted`` includes ``scope``; a write scope implies its read scope ("Any scope
    that writes a resource also grants read access to it",
    https://shopify.dev/docs/api/usage/access-scopes)."""
    have = set(granted)
    return scope in have or (
        scope.startswith("read_") and "write_" + scope.removeprefix("read_") in have
    )


def field_names(document: str, path: Sequence[str]) -> list[str]:
    """``path`` with aliases (``m0``, as Shopify reports them) replaced by their field names."""
    try:
        names = {
            node.alias.value: node.name.value
            for node in _fields(parse(document))
            if node.alias is not None
        }
    except GraphQLError:
        return list(path)
    return [names.get(part, part) for part in path]


def _fields(document: DocumentNode) -> list[FieldNode]:
    found: list[FieldNode] = []

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_args: object) -> None:
            found.append(node)

    visit(document, Collect())
    return found


def scope_hint(path: Sequence[str]) -> str:
    for field in reversed(path):
        if field in SCOPES:
            return f"(grant the app the {SCOPES[field]} scope)"
    return f"(the app needs the scopes {', '.join(REQUIRED_SCOPES)})"
