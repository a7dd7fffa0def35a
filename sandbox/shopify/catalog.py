"""The simulator's view of the world: lookups by id and sorted indexes for connections.

Fulfilments, refunds and returns live inside their order in :mod:`sandbox.world`; the small view
classes here carry the order along so ``Fulfillment.order`` or a ``node(id:)`` lookup can answer.
Sorted indexes are cached per generation: every write through the simulator calls
:meth:`Catalog.changed` (a tag write moves a customer's ``updatedAt``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.shopify.pages import SortKey, sort_value
from sandbox.world import Customer, Fulfillment, Order, Refund, Return, World


@dataclass(frozen=True, slots=True)
class FulfillmentView:
    order: Order
    fulfillment: Fulfillment
    number: int  # 1-based position in the order: the "F1" of "#1001-F1"


@dataclass(frozen=True, slots=True)
class RefundView:
    order: Order
    refund: Refund


@dataclass(frozen=True, slots=True)
class ReturnView:
    order: Order
    ret: Return


@dataclass(frozen=True, slots=True)
class Shop:
    domain: str
    currency: str


ORDER_SORTS: dict[str, Callable[[Order], Any]] = {
    "CREATED_AT": lambda o: o.created_at,
    "PROCESSED_AT": lambda o: o.created_at,
    "UPDATED_AT": lambda o: o.updated_at,
    "ID": lambda o: o.id,
    "ORDER_NUMBER": lambda o: o.id,  # names are numbered in creation order, like ids
    "TOTAL_PRICE": lambda o: int(o.total_price * 100),
}
CUSTOMER_SORTS: dict[str, Callable[[Customer], Any]] = {
    "CREATED_AT": lambda c: c.created_at,
    "UPDATED_AT": lambda c: c.updated_at,
    "ID": lambda c: c.id,
}


def by_id(sort_key: str, sorts: dict[str, Any]) -> bool:
    """Whether cursors carry the id as their value (ID order, and the keys we sort by id)."""
    return sort_key not in sorts or sort_key in {"ID", "ORDER_NUMBER"}


def sort_keys(records: list[Any], sort_key: str, sorts: dict[str, Any]) -> list[SortKey]:
    get = sorts.get(sort_key, sorts["ID"])  # other Shopify sort keys fall back to id order
    return [(sort_value(get(r)), r.id) for r in records]


class Catalog:
    def __init__(self, world: World) -> None:
        self.world = world
        self.shop = Shop(world.shop_domain, world.currency)
        self._lock = threading.Lock()
        self._generation = 0
        self._sorted: dict[tuple[str, str], tuple[tuple[int, int], list[SortKey], list[Any]]] = {}
        self._children: dict[tuple[str, int], Any] | None = None

    def changed(self) -> None:
        with self._lock:
            self._generation += 1

    def sorted_orders(self, sort_key: str) -> tuple[list[SortKey], list[Order]]:
        return self._sorted_records("Order", sort_key, ORDER_SORTS, self.world.orders)

    def sorted_customers(self, sort_key: str) -> tuple[list[SortKey], list[Customer]]:
        return self._sorted_records("Customer", sort_key, CUSTOMER_SORTS, self.world.customers)

    def node(self, kind: str, number: int) -> Any:
        """The object behind ``gid://shopify/{kind}/{number}``, or None."""
        if kind == "Order":
            return self.world.orders.get(number)
        if kind == "Customer":
            return self.world.customers.get(number)
        return self._child_index().get((kind, number))

    def return_refund(self, view: RefundView) -> ReturnView | None:
        """The closed return a refund paid back, if any (the generator refunds on closing)."""
        closed = [r for r in view.order.returns if r.status == "CLOSED"]
        return (
            ReturnView(view.order, closed[0]) if closed and view.refund.note == "Returned" else None
        )

    def _sorted_records(
        self, kind: str, sort_key: str, sorts: dict[str, Any], records: dict[int, Any]
    ) -> tuple[list[SortKey], list[Any]]:
        with self._lock:
            generation = (self._generation, len(records))
            cached = self._sorted.get((kind, sort_key))
            if cached is not None and cached[0] == generation:
                return cached[1], cached[2]
        with self.world.lock:
            items = list(records.values())
        keys = sort_keys(items, sort_key, sorts)
        pairs = sorted(zip(keys, items, strict=True), key=lambda pair: pair[0])
        result = ([k for k, _ in pairs], [r for _, r in pairs])
        with self._lock:
            self._sorted[(kind, sort_key)] = (generation, *result)
        return result

    def _child_index(self) -> dict[tuple[str, int], Any]:
        if self._children is None:
            index: dict[tuple[str, int], Any] = {}
            for order in self.world.orders.values():
                for number, fulfillment in enumerate(order.fulfillments, start=1):
                    index["Fulfillment", fulfillment.id] = FulfillmentView(
                        order, fulfillment, number
                    )
                for refund in order.refunds:
                    index["Refund", refund.id] = RefundView(order, refund)
                for ret in order.returns:
                    index["Return", ret.id] = ReturnView(order, ret)
            self._children = index
        return self._children
