"""Calculated query cost (the points a query spends from :mod:`sandbox.shopify.bucket`).

The published rules (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits: objects
1, connections 2 plus ``first`` times one node) overcharge several times over compared with what
Shopify really charges. This model is calibrated on recorded real answers
(``shopify-notes.md``, "Access in 2026"; a test replays them within 25%):

- scalars and enums cost 0; an object costs 1 when it is a resource with an ``id`` (a customer,
  an address, a location) and 0 when it is a value inside one (money, an email address, tracking
  info); ``pageInfo`` costs 1;
- a connection costs 2, plus its other fields (``pageInfo``), plus one node's cost times a factor
  that grows with the logarithm of the page size: ``ceil(log2(first + 1))`` (1 node: 1, 3: 2,
  5: 3, 10: 4, 250: 8). Recorded: customers(first: 3) = 8, a returns query = 157;
- a list field (``fulfillments(first: 5)``) costs one element, whatever its ``first``
  (recorded: a query reading one fulfilment and an order's list of them, through a named
  fragment, = 39);
- an interface costs its most expensive possible selection; every mutation field costs 10.

The *requested* cost is computed from the document before it runs (and must fit in the bucket);
the *actual* cost recounts with what came back, and the difference is refunded, so a short last
page is cheap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values

from sandbox.shopify.bucket import LeakyBucket

__all__ = ["CostWalker", "InputTooLarge", "LeakyBucket", "PageTooLarge"]  # LeakyBucket: old path

MUTATION_COST = 10
MAX_INPUT_SIZE = 250  # https://shopify.dev/api/usage/limits: input arrays hold at most 250
MAX_PAGE_SIZE = 250


class InputTooLarge(GraphQLError):
    """Shopify's MAX_INPUT_SIZE_EXCEEDED: rejected before execution, cost still reported."""


class PageTooLarge(GraphQLError):
    """``first``/``last`` above 250, rejected before execution."""


@dataclass
class CostWalker:
    """Walks one operation; with ``data`` it counts what came back instead of what was asked."""

    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: Any  # coerced variable values (a dict in graphql-core 3.2, VariableValues in 3.3)
    _arguments: dict[int, dict[str, Any]] = field(default_factory=dict, repr=False)

    def arguments(self, definition: Any, node: FieldNode) -> dict[str, Any]:
        """A field's argument values, computed once per field node (the actual count revisits
        the same node for every object of a page)."""
        found = self._arguments.get(id(node))
        if found is None:
            found = self._arguments[id(node)] = get_argument_values(
                definition, node, self.variables
            )
        return found

    def requested(self, operation: OperationDefinitionNode) -> int:
        if operation.operation is OperationType.MUTATION:
            root = self.schema.mutation_type
            assert root is not None
            self._check_mutation_inputs(root, operation.selection_set)
            return MUTATION_COST * sum(
                1
                for f in _fields(operation.selection_set, self.fragments)
                if f.name.value != "__typename"
            )
        root = self.schema.query_type
        assert root is not None
        return self._selection(root, operation.selection_set, None, ())

    def actual(self, operation: OperationDefinitionNode, data: Any) -> int:
        if operation.operation is OperationType.MUTATION:
            return self.requested(operation)
        root = self.schema.query_type
        assert root is not None
        return self._selection(root, operation.selection_set, data or {}, ())

    def _selection(
        self,
        parent: GraphQLObjectType | Any,
        selection_set: SelectionSetNode | None,
        data: Any,
        path: tuple[str, ...],
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        by_type: dict[str, int] = {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += self._field(parent, selection, data, path)
                continue
            condition, sub = self._fragment(selection)
            target = self.schema.get_type(condition) if condition else parent
            if data is not None and condition and data.get("__typename") not in (None, condition):
                continue
            cost = self._selection(target, sub, data, path)
            key = condition or ""
            by_type[key] = by_type.get(key, 0) + cost
        # Fragments on the concrete types of an interface: only one applies, count the dearest.
        unconditioned = by_type.pop("", 0)
        return total + unconditioned + max(by_type.values(), default=0)

    def _fragment(
        self, selection: InlineFragmentNode | FragmentSpreadNode | Any
    ) -> tuple[str | None, SelectionSetNode]:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition.name.value if selection.type_condition else None
            return condition, selection.selection_set
        fragment = self.fragments[selection.name.value]
        return fragment.type_condition.name.value, fragment.selection_set

    def _field(self, parent: Any, node: FieldNode, data: Any, path: tuple[str, ...]) -> int:
        name = node.name.value
        if name.startswith("__") or not hasattr(parent, "fields") or name not in parent.fields:
            return 0
        definition = parent.fields[name]
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        key = node.alias.value if node.alias else name
        value = None if data is None else data.get(key)
        args = self.arguments(definition, node)
        here = (*path, key)
        if named.name.endswith("Connection"):
            return self._connection(named, node, args, value, data is not None, here)
        if _is_list(definition.type):
            return self._list(named, node, args, value, data is not None, here)
        if data is not None and value is None:
            return 0
        return _object_cost(named) + self._selection(named, node.selection_set, value, here)

    def _connection(
        self,
        connection: Any,
        node: FieldNode,
        args: dict[str, Any],
        value: Any,
        actual: bool,
        path: tuple[str, ...],
    ) -> int:
        size = self._page_size(node, args, path)
        node_type = get_named_type(connection.fields["nodes"].type)
        extras = self._connection_extras(connection, node.selection_set, path)
        if not actual:
            per_node = self._per_node(node_type, node.selection_set, None, path)
            return 2 + extras + page_factor(size) * per_node
        if value is None:
            return 0
        items = _connection_items(node.selection_set, value, self.fragments)
        if not items:
            return 2 + extras
        costs = [self._per_node(node_type, node.selection_set, item, path) for item in items]
        return 2 + extras + math.ceil(page_factor(len(items)) * sum(costs) / len(costs))

    def _connection_extras(
        self, connection: Any, selection_set: SelectionSetNode | None, path: tuple[str, ...]
    ) -> int:
        """What a connection selects besides its nodes: ``pageInfo`` (1)."""
        return sum(
            self._field(connection, child, None, path)
            for child in _fields(selection_set, self.fragments)
            if child.name.value not in ("nodes", "edges")
        )

    def _per_node(
        self,
        node_type: Any,
        selection_set: SelectionSetNode | None,
        item: Any,
        path: tuple[str, ...],
    ) -> int:
        """One object of a connection: itself plus what ``edges.node`` and ``nodes`` select."""
        cost = _object_cost(node_type)
        for child in _fields(selection_set, self.fragments):
            if child.name.value == "nodes":
                cost += self._selection(node_type, child.selection_set, item, path)
            elif child.name.value == "edges":
                for edge_field in _fields(child.selection_set, self.fragments):
                    if edge_field.name.value == "node":
                        cost += self._selection(node_type, edge_field.selection_set, item, path)
        return cost

    def _list(
        self,
        named: Any,
        node: FieldNode,
        args: dict[str, Any],
        value: Any,
        actual: bool,
        path: tuple[str, ...],
    ) -> int:
        own = _object_cost(named) if not is_leaf_type(named) else 0
        if actual:
            if not value:
                return 0
            costs = [
                own + self._selection(named, node.selection_set, item, path)
                for item in value
                if item is not None
            ]
            return max(costs, default=0) * (len(costs) if "ids" in args else 1)
        if "first" in args and args["first"] is not None:
            self._page_size(node, args, path)  # above 250 is refused all the same
        # nodes(ids:) reads each object; other lists are charged one element (recorded).
        size = len(args["ids"]) if "ids" in args else 1
        return size * (own + self._selection(named, node.selection_set, None, path))

    def _page_size(self, node: FieldNode, args: dict[str, Any], path: tuple[str, ...]) -> int:
        size = args.get("first") if args.get("first") is not None else args.get("last")
        if size is None:
            return 0  # rejected at execution: "you must provide one of first or last"
        if size > MAX_PAGE_SIZE:
            # The exact wording Shopify uses is unverified (shopify-notes.md section 8).
            which = "first" if args.get("first") is not None else "last"
            raise PageTooLarge(
                f"The maximum page size is {MAX_PAGE_SIZE}: {which}: {size} is too large "
                f"on field '{node.name.value}'.",
                node,
                path=list(path),
                extensions={"code": "BAD_REQUEST"},
            )
        return int(size)

    def _check_mutation_inputs(
        self, root: GraphQLObjectType, selection_set: SelectionSetNode
    ) -> None:
        for node in _fields(selection_set, self.fragments):
            definition = root.fields.get(node.name.value)
            if definition is None:
                continue
            for name, value in get_argument_values(definition, node, self.variables).items():
                if isinstance(value, list) and len(value) > MAX_INPUT_SIZE:
                    raise InputTooLarge(
                        f"The input array size of {len(value)} is greater than the maximum "
                        f"allowed of {MAX_INPUT_SIZE}.",
                        node,
                        path=[node.name.value, name],
                        extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
                    )


def page_factor(size: int) -> int:
    """What a page of ``size`` nodes multiplies one node's cost by (see the module docstring)."""
    return math.ceil(math.log2(size + 1)) if size > 0 else 0


def _object_cost(named: Any) -> int:
    fields = getattr(named, "fields", None) or {}
    return 1 if "id" in fields or getattr(named, "name", "") == "PageInfo" else 0


def _fields(
    selection_set: SelectionSetNode | None, fragments: Mapping[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields of a selection set with fragments flattened."""
    if selection_set is None:
        return []
    found: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found += _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            found += _fields(fragments[selection.name.value].selection_set, fragments)
    return found


def _connection_items(
    selection_set: SelectionSetNode | None,
    value: dict[str, Any],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> list[Any]:
    for child in _fields(selection_set, fragments):
        key = child.alias.value if child.alias else child.name.value
        if child.name.value == "nodes" and value.get(key) is not None:
            return list(value[key])
        if child.name.value == "edges" and value.get(key) is not None:
            node_key = next(
                (
                    (f.alias.value if f.alias else "node")
                    for f in _fields(child.selection_set, fragments)
                    if f.name.value == "node"
                ),
                "node",
            )
            return [edge.get(node_key) for edge in value[key] if edge]
    return []


def _is_list(type_: GraphQLOutputType) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)
