"""Shopify's calculated query cost and the leaky bucket it is charged against.

Shopify charges each GraphQL request its *requested* cost up front and refunds the difference to
the *actual* cost afterwards; the bucket (observed 2000 points on a standard plan, older shops
1000) refills continuously at ``restoreRate`` points per second, and a request the bucket cannot
pay for is refused with THROTTLED (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).
Every response reports ``extensions.cost.throttleStatus``; :class:`CostBucket` keeps the last one
and extrapolates, so the client waits *before* sending a query that would be throttled.

:func:`estimated_cost` follows Shopify's published rules: scalars and enums 0, objects 1,
connections 2 plus ``first`` times the cost of one node, list fields with ``first`` that many
times their element, named and inline fragments as the fields they hold, and 10 per mutation
field. Real charges are far lower (recorded: 8 where this says 17, 157 where it says 933), so it is
only the first guess; :mod:`connectors.shopify.paging` sizes later pages from what Shopify
reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    parse,
)

MAX_QUERY_COST = 1000  # the single-query maximum (MAX_COST_EXCEEDED above it)
MAX_PAGE_SIZE = 250  # first/last above 250 is refused
MUTATION_COST = 10
SAFETY_SECONDS = 0.05


@dataclass(slots=True)
class CostBucket:
    """What we know of the shop's bucket, as of ``observed_at`` on the client's clock."""

    maximum: float = 0.0
    available: float = 0.0
    restore_rate: float = 0.0
    observed_at: float = 0.0
    known: bool = False

    def observe(self, throttle_status: Mapping[str, Any], now: float) -> None:
        """Take ``extensions.cost.throttleStatus`` as the truth (Shopify sends ints or floats)."""
        self.maximum = float(throttle_status["maximumAvailable"])
        self.available = float(throttle_status["currentlyAvailable"])
        self.restore_rate = float(throttle_status["restoreRate"])
        self.observed_at = now
        self.known = True

    def available_at(self, now: float) -> float:
        restored = (now - self.observed_at) * self.restore_rate
        return min(self.maximum, self.available + restored)

    def wait_before(self, cost: float, now: float) -> float:
        """Seconds to wait until the bucket can pay ``cost`` (0 while we know nothing yet)."""
        if not self.known or self.restore_rate <= 0:
            return 0.0
        needed = min(cost, self.maximum) - self.available_at(now)
        if needed <= 0:
            return 0.0
        # Shopify measured the bucket before its answer travelled to us: a few hundredths of a
        # second more, so the query arrives after the points have.
        return needed / self.restore_rate + SAFETY_SECONDS

    def spend(self, cost: float, now: float) -> None:
        """Charge a request we are about to send, until its response tells the real figure."""
        if self.known:
            self.available = self.available_at(now) - cost
            self.observed_at = now


def throttled_wait(cost: Mapping[str, Any]) -> float:
    """How long a THROTTLED answer asks us to wait: ``(requested - available) / restoreRate``."""
    status = cost.get("throttleStatus") or {}
    rate = float(status.get("restoreRate") or 0)
    requested = float(cost.get("requestedQueryCost") or 0)
    available = float(status.get("currentlyAvailable") or 0)
    if rate <= 0:
        return 1.0
    return max(0.0, (requested - available) / rate)


def estimated_cost(document: str, variables: Mapping[str, Any] | None = None) -> int:
    """The requested cost Shopify will compute for ``document`` with ``variables``."""
    operation, fragments = _parsed(document)
    values = {**dict(variables or {}), _FRAGMENTS: fragments}
    if operation.operation is OperationType.MUTATION:
        return MUTATION_COST * sum(
            1 for s in operation.selection_set.selections if isinstance(s, FieldNode)
        )
    return _selection_cost(operation.selection_set, values)


def operation_name(document: str) -> str:
    """The operation's name (``OrdersUpdated``), or ``anonymous``: the key costs are learned by."""
    operation, _fragments = _parsed(document)
    return operation.name.value if operation.name else "anonymous"


_FRAGMENTS = "\0fragments"  # where the walk keeps the named fragments (no variable has this name)


@lru_cache(maxsize=64)
def _parsed(document: str) -> tuple[OperationDefinitionNode, dict[str, FragmentDefinitionNode]]:
    tree: DocumentNode = parse(document)
    fragments = {d.name.value: d for d in tree.definitions if isinstance(d, FragmentDefinitionNode)}
    for definition in tree.definitions:
        if isinstance(definition, OperationDefinitionNode):
            return definition, fragments
    raise ValueError("the document has no operation")


def _selection_cost(selection_set: SelectionSetNode | None, variables: dict[str, Any]) -> int:
    if selection_set is None:
        return 0
    total = 0
    typed: dict[str, int] = {}
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            total += _field_cost(selection, variables)
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = variables[_FRAGMENTS].get(selection.name.value)
            if fragment is None:
                continue
            condition, inner = fragment.type_condition.name.value, fragment.selection_set
        else:
            assert isinstance(selection, InlineFragmentNode)
            condition = selection.type_condition.name.value if selection.type_condition else ""
            inner = selection.selection_set
        typed[condition] = typed.get(condition, 0) + _selection_cost(inner, variables)
    # Fragments on the concrete types of an interface or union: only one applies, count the
    # dearest (a fragment on the parent's own type, or with no condition, always applies; the
    # walk does not know types, so it treats every condition the same way).
    return total + max(typed.values(), default=0)


def _field_cost(field: FieldNode, variables: dict[str, Any]) -> int:
    if field.selection_set is None or field.name.value == "pageInfo":
        return 0
    first = _first_argument(field, variables)
    children = {s.name.value: s for s in _flat_fields(field.selection_set, variables)}
    if first is not None and ("nodes" in children or "edges" in children):
        node = children.get("nodes") or _edge_node(children["edges"])
        return 2 + first * (1 + _selection_cost(node.selection_set if node else None, variables))
    element = 1 + _selection_cost(field.selection_set, variables)
    return element * (first if first is not None else 1)


def _flat_fields(selection_set: SelectionSetNode, variables: dict[str, Any]) -> list[FieldNode]:
    """The fields of a selection with its fragments (named or inline) opened up."""
    found: list[FieldNode] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            found.append(selection)
        elif isinstance(selection, InlineFragmentNode):
            found += _flat_fields(selection.selection_set, variables)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = variables[_FRAGMENTS].get(selection.name.value)
            if fragment is not None:
                found += _flat_fields(fragment.selection_set, variables)
    return found


def _edge_node(edges: FieldNode) -> FieldNode | None:
    for selection in edges.selection_set.selections if edges.selection_set else ():
        if isinstance(selection, FieldNode) and selection.name.value == "node":
            return selection
    return None


def _first_argument(field: FieldNode, variables: dict[str, Any]) -> int | None:
    for argument in field.arguments or ():
        if argument.name.value not in ("first", "last"):
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            return int(given) if given is not None else None
    return None


def page_size(document: str, variables: Mapping[str, Any], *, budget: int = MAX_QUERY_COST) -> int:
    """The largest ``first`` (<= 250) whose requested cost stays within ``budget``."""
    fixed = estimated_cost(document, {**variables, "first": 0})
    per_item = estimated_cost(document, {**variables, "first": 1}) - fixed
    if per_item <= 0:
        return MAX_PAGE_SIZE
    return max(1, min(MAX_PAGE_SIZE, (budget - fixed) // per_item))
