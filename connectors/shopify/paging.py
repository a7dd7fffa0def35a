"""How many nodes to ask for per page, learned from what Shopify actually charges.

Shopify's published cost formula overestimates real charges several times over (recorded: 8
where it says 17, 157 where it says 933), and Shopify may set its own cost on any field. So the
static estimate (:func:`connectors.shopify.cost.page_size`) is only the first guess for a query
never seen before. Every answer reports the real ``requestedQueryCost``; divided by the page's
``first`` it gives a cost per node (an upper bound: the query's fixed part is counted in it),
and the next page of the same query asks for as many nodes as fit in the target: about 90% of
the 1000-point single-query maximum, and no more than the bucket can pay right now when it is
low. A MAX_COST_EXCEEDED answer carries the real cost too, and the page is resized from it at
once. The learned cost per node of each query is remembered (:class:`~nps_engine.ports.
QueryCostMemory`, in the store) so the next run's first page is already the right size.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

from connectors.shopify.cost import MAX_PAGE_SIZE, MAX_QUERY_COST, page_size
from nps_engine.ports import QueryCostMemory, ShopifyCostBudget

log = logging.getLogger(__name__)

TARGET_SHARE = 0.9  # of the single-query maximum: room for Shopify's rounding and changes
# Below this share of the target a low bucket is waited for rather than paid in tiny pages
# (every page has a fixed part, so many small pages cost more in all).
SMALLEST_BUDGET_SHARE = 0.25
REMEMBER_CHANGE = 0.1  # write the learned cost again when it moved by more than a tenth


class PageSizer:
    """Page sizes for the queries of one client; ``memory`` keeps them between runs."""

    def __init__(
        self,
        memory: QueryCostMemory | None = None,
        *,
        max_query_cost: int = MAX_QUERY_COST,
    ) -> None:
        self.memory = memory
        self.max_query_cost = max_query_cost
        self._node_cost: dict[str, float] = {}
        self._remembered: dict[str, float] = {}

    @property
    def target(self) -> float:
        return self.max_query_cost * TARGET_SHARE

    def node_cost(self, query: str) -> float | None:
        """The learned points per node of ``query`` (its operation name), if any."""
        if query not in self._node_cost and self.memory is not None:
            stored = self.memory.node_cost(query)
            if stored is not None and stored > 0:
                self._node_cost[query] = self._remembered[query] = stored
        return self._node_cost.get(query)

    def first(
        self,
        query: str,
        document: str,
        variables: Mapping[str, Any],
        bucket: ShopifyCostBudget | None = None,
        now: float = 0.0,
    ) -> int:
        """``first`` for the next page of ``query``."""
        per_node = self.node_cost(query)
        budget = self._budget(bucket, now)
        if per_node is None:
            return page_size(document, variables, budget=int(budget))
        return max(1, min(MAX_PAGE_SIZE, math.floor(budget / per_node)))

    def expected_cost(self, query: str, first: int) -> int | None:
        """What a page of ``first`` nodes should be charged, once the query was seen."""
        per_node = self.node_cost(query)
        return None if per_node is None else math.ceil(per_node * first)

    def learn(self, query: str, first: int, requested_cost: float | None) -> None:
        """Take the real ``requestedQueryCost`` of a page of ``first`` nodes."""
        if requested_cost is None or first <= 0 or requested_cost <= 0:
            return
        self._set(query, float(requested_cost) / first)

    def refused(self, query: str, first: int, reported_cost: int) -> int:
        """After MAX_COST_EXCEEDED: the page size that fits, from the cost Shopify reported."""
        if reported_cost > 0 and first > 0:
            self._set(query, reported_cost / first)
        per_node = self._node_cost.get(query)
        if per_node is None:
            return max(1, first // 2)
        return max(1, min(first - 1, math.floor(self.target / per_node)))

    def _budget(self, bucket: ShopifyCostBudget | None, now: float) -> float:
        if bucket is None or not bucket.known:
            return self.target
        payable = bucket.available_at(now)
        floor = self.target * SMALLEST_BUDGET_SHARE
        return min(self.target, bucket.maximum * TARGET_SHARE, max(payable, floor))

    def _set(self, query: str, per_node: float) -> None:
        self._node_cost[query] = per_node
        before = self._remembered.get(query)
        if self.memory is None:
            return
        if before is not None and abs(per_node - before) <= REMEMBER_CHANGE * before:
            return
        self.memory.remember_node_cost(query, per_node)
        self._remembered[query] = per_node
        log.debug("shopify: %s costs %.3f points per node", query, per_node)
