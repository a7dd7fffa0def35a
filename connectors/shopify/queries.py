"""Every GraphQL document we send, as constants with variables.

Each one is validated against the real 2026-01 Admin schema by the contract tests. The two
documents that cannot take variables are built from constants through graphql-core's AST, never
by pasting strings: a bulk operation's inner query (Shopify runs it without variables) gets its
search filter as a string literal, and a batch of tag mutations gets one aliased field per
customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    ListTypeNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

# Only what the product uses: a fulfilment's dates and status, whether a refund or a live return
# exists, and the customer's id (customers are synced on their own, with their email). Pages read
# the order's ``returnStatus`` (an enum: free) rather than its ``returns`` connection (2 points
# plus 1 per return, per order: a third of an order's cost); the bulk query, where cost does not
# matter, reads the returns themselves.
ORDER_FIELDS = """
      id name createdAt updatedAt cancelledAt email
      totalPriceSet { shopMoney { amount currencyCode } }
      customer { id }
      fulfillments(first: 5) { status createdAt deliveredAt displayStatus }
      refunds(first: 1) { createdAt }
"""

ORDERS_UPDATED = (
    """
query OrdersUpdated($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {"""
    + ORDER_FIELDS
    + """      returnStatus
    }
  }
}
"""
)

CUSTOMERS_UPDATED = """
query CustomersUpdated($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id firstName lastName locale tags numberOfOrders createdAt updatedAt
      defaultEmailAddress { emailAddress marketingState }
      amountSpent { amount currencyCode }
      defaultAddress { countryCodeV2 }
    }
  }
}
"""

# The inner query of the backfill. Returns are a connection, so in the JSONL they come as their
# own lines with ``__parentId``; fulfilments and refunds are plain lists and stay inline.
BULK_ORDERS = (
    """
{
  orders(query: "", sortKey: CREATED_AT) {
    edges {
      node {"""
    + ORDER_FIELDS.replace("(first: 5)", "").replace("(first: 1)", "")
    + """        returns { edges { node { status } } }
      }
    }
  }
}
"""
)

BULK_RUN = """
mutation BulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_STATUS = """
query BulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url partialDataUrl }
}
"""

TAG_MUTATION_SELECTION = "node { id } userErrors { field message }"

# A promoter's thank-you code (connectors.shopify.discounts).
DISCOUNT_CREATE = """
mutation PromoterDiscountCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field message code }
  }
}
"""

DISCOUNT_BY_CODE = """
query PromoterDiscountByCode($code: String!) {
  codeDiscountNodeByCode(code: $code) { id }
}
"""


def bulk_orders_query(search: str) -> str:
    """:data:`BULK_ORDERS` with ``search`` as the ``orders(query:)`` string literal."""
    return print_ast(visit(parse(BULK_ORDERS), _SearchFilter(search)))


class _SearchFilter(Visitor):
    """Replaces the ``query`` argument of the root ``orders`` field (AST nodes are frozen)."""

    def __init__(self, search: str) -> None:
        super().__init__()
        self.search = search

    def enter_argument(self, node: ArgumentNode, *_args: object) -> ArgumentNode | None:
        if node.name.value != "query":
            return None
        return ArgumentNode(name=node.name, value=StringValueNode(value=self.search))


TagOperation = Literal["tagsRemove", "tagsAdd"]


@lru_cache(maxsize=256)
def tag_mutations(operations: tuple[TagOperation, ...]) -> str:
    """One mutation document running ``operations`` in order, the i-th aliased ``m{i}`` with
    variables ``$id{i}`` and ``$tags{i}``. Mutation root fields run one after another in document
    order (GraphQL spec, "Executing Operations"), so a customer's remove precedes its add."""
    definitions = []
    fields = []
    selection = parse("{" + TAG_MUTATION_SELECTION + "}").definitions[0]
    assert isinstance(selection, OperationDefinitionNode)
    for index, operation in enumerate(operations):
        definitions += [_variable(f"id{index}", "ID"), _variable(f"tags{index}", "String", True)]
        fields.append(
            FieldNode(
                alias=NameNode(value=f"m{index}"),
                name=NameNode(value=operation),
                arguments=(
                    _argument("id", f"id{index}"),
                    _argument("tags", f"tags{index}"),
                ),
                directives=(),
                selection_set=selection.selection_set,
            )
        )
    operation_node = OperationDefinitionNode(
        operation=OperationType.MUTATION,
        name=NameNode(value="TagsPush"),
        variable_definitions=tuple(definitions),
        directives=(),
        selection_set=SelectionSetNode(selections=tuple(fields)),
    )
    return print_ast(DocumentNode(definitions=(operation_node,)))


def _variable(name: str, type_name: str, is_list: bool = False) -> VariableDefinitionNode:
    named = NonNullTypeNode(type=NamedTypeNode(name=NameNode(value=type_name)))
    type_node = NonNullTypeNode(type=ListTypeNode(type=named)) if is_list else named
    return VariableDefinitionNode(
        variable=VariableNode(name=NameNode(value=name)), type=type_node, directives=()
    )


def _argument(name: str, variable: str) -> ArgumentNode:
    return ArgumentNode(
        name=NameNode(value=name), value=VariableNode(name=NameNode(value=variable))
    )


def all_documents(samples: Sequence[TagOperation] = ("tagsRemove", "tagsAdd")) -> dict[str, str]:
    """Every document shape we send, for validation against the schema."""
    return {
        "orders": ORDERS_UPDATED,
        "customers": CUSTOMERS_UPDATED,
        "bulk_run": BULK_RUN,
        "bulk_status": BULK_STATUS,
        "bulk_orders": bulk_orders_query("created_at:>'2025-01-01T00:00:00Z'"),
        "tags": tag_mutations(tuple(samples)),
        "discount_create": DISCOUNT_CREATE,
        "discount_by_code": DISCOUNT_BY_CODE,
    }
